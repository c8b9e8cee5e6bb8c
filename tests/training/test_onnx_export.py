"""Streaming ONNX export: onnxruntime block by block == the torch full-sequence forward == the numba kernel."""

import json

import numpy as np
import onnx
import pytest
import soundfile as sf
import torch
import torch.nn.functional as F
from torch import nn

from support.audio import guitar_like
from engine.cli import main
from engine.models import load_model
from engine.onnx_backend import load_onnx_model
from engine.render import render
from training.export import export
from training.module import CaptureModule
from engine.atomic import write_atomically
from training.onnx_export import OPSET, StreamingNetwork, network_properties, onnx_bytes

RATE = 44100
CONFIG = {"channels": 3, "kernel_size": 3, "dilations": [1, 2, 4, 8, 16, 1, 2]}


def partitioned(model, x, sizes):
    """Process x from the reset state in consecutive calls of the given sizes (cycled)."""
    model.reset()
    y = np.empty_like(x)
    start, i = 0, 0
    while start < x.size:
        stop = min(start + sizes[i % len(sizes)], x.size)
        model.process(x[start:stop], y[start:stop])
        start, i = stop, i + 1
    return y


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny gated WaveNet (input gain as fit() sets it), its .onnx and .json exports, and a test signal."""
    torch.manual_seed(0)
    module = CaptureModule(preset="seed", config=CONFIG, sample_rate=RATE).eval()
    with torch.no_grad():
        module.net.input_gain.fill_(10.0)
    folder = tmp_path_factory.mktemp("onnx")
    x = guitar_like(0.1, RATE, seed=5)
    with torch.no_grad():
        expected = module(torch.from_numpy(x)[None, None], pad=True)[0, 0].numpy()
    return module, export(module, folder / "tiny.onnx", "onnx"), export(module, folder / "tiny.json", "json"), x, expected


@pytest.mark.parametrize("sizes", [[1], [64], [1, 7, 64, 300, 2, 33]], ids=["block1", "block64", "mixed"])
def test_onnxruntime_streaming_equals_torch_and_kernel(trained, sizes):
    module, onnx_path, json_path, x, expected = trained
    got = partitioned(load_onnx_model(onnx_path), x, sizes)
    kernel = partitioned(load_model(json_path), x, sizes)
    assert np.max(np.abs(expected)) > 0.05  # a live model, not a silent one
    assert np.max(np.abs(got - expected)) <= 2e-5
    assert np.max(np.abs(got - kernel)) <= 2e-5


def test_reset_forgets_history(trained):
    _, onnx_path, _, x, expected = trained
    model = load_onnx_model(onnx_path)
    render(model, x[::-1].copy(), block=64)
    assert np.max(np.abs(render(model, x, block=64) - expected)) <= 2e-5


def test_metadata_opset_and_checker(trained):
    module, onnx_path, _, _, _ = trained
    model = onnx.load(onnx_path)
    onnx.checker.check_model(model, full_check=True)
    props = {p.key: p.value for p in model.metadata_props}
    assert props["ampemu_format"] == "ampemu-streaming" and props["format_version"] == "1"
    assert props["architecture"] == "gated_wavenet" and json.loads(props["config"]) == CONFIG
    assert int(props["sample_rate"]) == RATE and props["prewarm_samples"] == "0"
    assert int(props["receptive_field"]) == module.receptive_field == 1 + 2 * sum(CONFIG["dilations"])
    assert json.loads(props["state_shapes"]) == [[1, 3, 2 * d] for d in CONFIG["dilations"]]
    assert props["name"] == "tiny" and json.loads(props["metadata"])["preset"] == "seed"
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [OPSET]
    inputs = [i.name for i in model.graph.input]
    assert inputs == ["x"] + [f"state_{i}" for i in range(7)]
    assert [o.name for o in model.graph.output] == ["y"] + [f"new_state_{i}" for i in range(7)]
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "frames"  # any block length
    # the export hooks the network for one call only
    assert all(not conv._forward_pre_hooks for conv in module.net.convs)


class CausalStack(nn.Module):
    """A non-WaveNet architecture following the padded-forward convention, with NAM's prewarm."""

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList([nn.Conv1d(1, 4, 2, dilation=3), nn.Conv1d(4, 4, 4, dilation=2),
                                    nn.Conv1d(4, 1, 1)])
        self.receptive_field = 1 + 1 * 3 + 3 * 2
        self.prewarm_samples = self.receptive_field

    def forward(self, x, pad=False):
        for conv in self.convs:
            shrink = (conv.kernel_size[0] - 1) * conv.dilation[0]
            x = torch.tanh(conv(F.pad(x, (shrink, 0)) if pad else x))
        return x


def test_any_padded_forward_architecture_streams(tmp_path):
    torch.manual_seed(1)
    net = CausalStack().eval()
    assert StreamingNetwork(net).state_shapes() == [(1, 1, 3), (1, 4, 6)]
    props = network_properties(net, "causal_stack", {}, RATE, "stack", {})
    model = load_onnx_model(write_atomically(tmp_path / "stack.onnx", onnx_bytes(net, props)))
    x = guitar_like(0.02, RATE, seed=2)
    with torch.no_grad():  # NAM's reset: the prewarm zeros run first
        padded = torch.from_numpy(np.concatenate([np.zeros(net.prewarm_samples, np.float32), x]))
        expected = net(padded[None, None], pad=True)[0, 0, net.prewarm_samples:].numpy()
    assert np.max(np.abs(partitioned(model, x, [1, 5, 64]) - expected)) <= 2e-5


def test_export_and_process_commands(trained, tmp_path, capsys):
    import lightning as L

    module = trained[0]
    trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_checkpointing=False)
    trainer.strategy.connect(module)
    trainer.save_checkpoint(tmp_path / "m.ckpt")
    onnx_path = tmp_path / "m.onnx"
    assert main(["export", "--checkpoint", str(tmp_path / "m.ckpt"), "--format", "onnx", "--out", str(onnx_path)]) == 0
    sf.write(tmp_path / "in.wav", trained[3], RATE, subtype="FLOAT")
    assert main(["process", "--model", str(onnx_path), "--backend", "onnxruntime", "--block", "37",
                 str(tmp_path / "in.wav"), str(tmp_path / "out.wav")]) == 0
    rendered = sf.read(tmp_path / "out.wav", dtype="float32")[0]
    assert np.max(np.abs(rendered - trained[4])) <= 2e-5
    assert "real-time factor" in capsys.readouterr().out


def test_output_buffer_must_take_the_raw_write(trained):
    model = load_onnx_model(trained[1])
    x = trained[3][:64]
    for bad in (np.empty(128, np.float32)[::2], np.empty(64, np.float64), np.empty(63, np.float32)):
        with pytest.raises(ValueError, match="contiguous float32"):
            model.process(x, bad)
