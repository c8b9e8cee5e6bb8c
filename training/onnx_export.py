"""Streaming ONNX export: any causal-conv architecture as a graph that processes one block at a time.

The graph (opset OPSET, written by torch's TorchScript-based exporter, `dynamo=False`, because the
dynamo path needs onnxscript, which the train extra does not carry):
- inputs  `x` float32 [frames] (any length >= 1), `state_0` .. `state_{L-1}` float32 [1, C_l, H_l];
- outputs `y` float32 [frames], `new_state_0` .. `new_state_{L-1}` (same shapes as the states).
State l is the last H_l = (kernel_l - 1) * dilation_l input samples of causal conv l: exactly the
history that conv needs. Zero states are the reset state; feed each call's new states to the next.

How an architecture streams, without any streaming code of its own: its padded forward
(`forward(x, pad=True)`) feeds every causal conv (an `nn.Conv1d` with kernel > 1) its input
zero-padded on the left by (kernel - 1) * dilation, which is what zero history means.
`StreamingNetwork` hooks those convs for one call and swaps the zeros for the carried history.
So the gated WaveNet streams as it is, and so will NAM's A1 WaveNet once its torch module follows
the same padded-forward convention (set `prewarm_samples = receptive_field` on it: NAM's reset).
Convs are listed in module registration order, which the state names follow.

Metadata properties (`metadata_props`, all strings; see docs/onnx.md): ampemu_format, format_version,
architecture, config (JSON), sample_rate, receptive_field, prewarm_samples, state_shapes (JSON list
of [1, C, H]), name, metadata (JSON: the same model metadata as the .json export).
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import torch
from torch import nn

from engine.atomic import write_atomically
from engine.errors import AmpemuError

FORMAT = "ampemu-streaming"
FORMAT_VERSION = 1
OPSET = 17


def causal_convs(net: nn.Module) -> list[nn.Conv1d]:
    """The convs that need history (kernel > 1), in registration order: one state tensor each."""
    return [m for m in net.modules() if isinstance(m, nn.Conv1d) and m.kernel_size[0] > 1]


def history(conv: nn.Conv1d) -> int:
    return (conv.kernel_size[0] - 1) * conv.dilation[0]


class StreamingNetwork(nn.Module):
    """forward(x [T], *states) -> (y [T], *new_states): the network's padded forward, one block at a time."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net
        self.convs = causal_convs(net)
        if not self.convs:
            raise ValueError(f"{type(net).__name__} has no causal convs to stream")

    def state_shapes(self) -> list[tuple[int, int, int]]:
        return [(1, c.in_channels, history(c)) for c in self.convs]

    def initial_state(self) -> list[torch.Tensor]:
        return [torch.zeros(shape) for shape in self.state_shapes()]

    def forward(self, x: torch.Tensor, *states: torch.Tensor):
        new_states: list[torch.Tensor | None] = [None] * len(self.convs)

        def carry(index: int, size: int):
            def hook(_conv, args):
                # the padded forward prepended `size` zeros: put the real history there instead
                full = torch.cat([states[index], args[0][..., size:]], dim=-1)
                new_states[index] = full[..., -size:]
                return (full,)
            return hook

        # hooks live for this call only: the network itself is left as it was
        handles = [conv.register_forward_pre_hook(carry(i, history(conv))) for i, conv in enumerate(self.convs)]
        try:
            y = self.net(x.reshape(1, 1, -1), pad=True).reshape(-1)
        finally:
            for handle in handles:
                handle.remove()
        return (y, *new_states)


def onnx_bytes(net: nn.Module, properties: dict[str, str]) -> bytes:
    """The streaming graph of `net` with `properties` as metadata, checked by onnx.checker."""
    try:
        import onnx
    except ImportError:
        raise AmpemuError("--format onnx needs the onnx package: `pip install -e '.[train]'`") from None

    streaming = StreamingNetwork(net).eval()
    states = streaming.initial_state()
    count = len(states)
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation and constant-folding notes
        torch.onnx.export(streaming, (torch.zeros(64), *states), buffer, dynamo=False, opset_version=OPSET,
                          input_names=["x"] + [f"state_{i}" for i in range(count)],
                          output_names=["y"] + [f"new_state_{i}" for i in range(count)],
                          dynamic_axes={"x": {0: "frames"}, "y": {0: "frames"}})
    model = onnx.load_from_string(buffer.getvalue())
    props = {"ampemu_format": FORMAT, "format_version": str(FORMAT_VERSION),
             "state_shapes": json.dumps([list(s) for s in streaming.state_shapes()]), **properties}
    onnx.helper.set_model_props(model, props)
    model.producer_name = "ampemu"
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString()


def network_properties(net: nn.Module, architecture: str, config: dict, sample_rate: int,
                       name: str, metadata: dict) -> dict[str, str]:
    return {"architecture": architecture, "config": json.dumps(config), "sample_rate": str(int(sample_rate)),
            "receptive_field": str(int(net.receptive_field)),
            "prewarm_samples": str(int(getattr(net, "prewarm_samples", 0))),
            "name": name, "metadata": json.dumps(metadata)}


def export_onnx(module, path, metadata: dict) -> Path:
    """EXPORTERS entry (training/export.py): a CaptureModule as a streaming .onnx file."""
    hp = module.hparams
    if hasattr(module.net, "submodel_outputs"):
        raise AmpemuError(f"preset '{hp.preset}' is a container of sizes that only a .nam holds: export with --format nam")
    props = network_properties(module.net, hp.architecture, dict(hp.config), hp.sample_rate,
                               metadata.get("name", Path(path).stem), metadata)
    return write_atomically(path, onnx_bytes(module.net, props))
