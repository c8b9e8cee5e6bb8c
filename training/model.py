"""Model architectures for training (torch) and their named presets.

`GatedWaveNet` is the exact maths of the engine's kernel (ampemu_tools/reference.py): input 1x1 conv,
per layer a causal dilated conv C -> 2C, tanh(a) * sigmoid(b), a residual 1x1 conv, and a linear mix
of every layer's gated output. Two forward modes:
- valid (training): the input carries receptive-field - 1 samples of real history and the output is
  that much shorter; every output sample has full context;
- padded (`pad=True`, rendering): every layer's input is zero-padded on the left, exactly what the
  engine does from a reset state, so the output matches the exported model sample for sample.

`NamA1WaveNet` is Neural Amp Modeler's classic ("A1") WaveNet, the maths of engine/formats/nam/
and its kernel, with the same two forward modes (NAM's engine then prewarms: see its docstring).

An architecture is a torch Module with `receptive_field`, an `input_gain` buffer and a constructor
taking its config as keywords; ARCHITECTURES maps its name to the class, PRESETS map a user-facing
name to (architecture, config). Each family has an exporter in training/export.py.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from engine.errors import AmpemuError

SEED_DILATIONS = [2 ** i for i in range(9)] * 2  # 1..256 twice: receptive field 2045 samples at K=3


class GatedWaveNet(nn.Module):
    def __init__(self, channels: int, kernel_size: int, dilations: list[int], input_gain: float = 1.0):
        super().__init__()
        self.channels, self.kernel_size, self.dilations = channels, kernel_size, list(dilations)
        self.input_conv = nn.Conv1d(1, channels, 1)
        self.convs = nn.ModuleList(nn.Conv1d(channels, 2 * channels, kernel_size, dilation=d) for d in dilations)
        self.residuals = nn.ModuleList(nn.Conv1d(channels, channels, 1) for _ in dilations)
        self.mix = nn.Conv1d(len(dilations) * channels, 1, 1)
        # the last layer's residual output feeds nothing (the file format still stores it): frozen, so
        # optimisers and DDP do not wait for gradients that never come
        self.residuals[-1].requires_grad_(False)
        # a fixed gain on the input, learned nowhere but saved and folded into the exported input
        # conv, so that a quiet capture trains like a normal one and export still reproduces training
        self.register_buffer("input_gain", torch.tensor(float(input_gain)))

    @property
    def receptive_field(self) -> int:
        return 1 + (self.kernel_size - 1) * sum(self.dilations)

    def forward(self, x: torch.Tensor, pad: bool = False) -> torch.Tensor:
        """x (B, 1, T) -> (B, 1, T - receptive_field + 1), or (B, 1, T) with pad=True."""
        c = self.channels
        h = self.input_conv(x * self.input_gain)
        out_len = h.shape[-1] if pad else h.shape[-1] - self.receptive_field + 1
        y = self.mix.bias.view(1, 1, 1).expand(x.shape[0], 1, out_len)
        for layer, (conv, residual) in enumerate(zip(self.convs, self.residuals)):
            shrink = (self.kernel_size - 1) * conv.dilation[0]
            a = conv(F.pad(h, (shrink, 0)) if pad else h)
            z = torch.tanh(a[:, :c]) * torch.sigmoid(a[:, c:])
            # the mix is linear: accumulate each layer's share instead of concatenating all skips
            y = y + F.conv1d(z[..., -out_len:], self.mix.weight[:, layer * c:(layer + 1) * c])
            if layer + 1 < len(self.dilations):
                h = (h if pad else h[..., shrink:]) + residual(z)
        return y


class NamLayerArray(nn.Module):
    """One A1 layer array: rechannel 1x1 (no bias); per layer a dilated conv (bias), a 1x1 input mixin
    from the raw input (no bias), Tanh, a 1x1 residual (bias); a head rechannel of the summed activations."""

    def __init__(self, input_size: int, channels: int, head_size: int, kernel_size: int, dilations: list[int],
                 head_bias: bool):
        super().__init__()
        self.kernel_size, self.dilations = kernel_size, list(dilations)
        self.rechannel = nn.Conv1d(input_size, channels, 1, bias=False)
        self.convs = nn.ModuleList(nn.Conv1d(channels, channels, kernel_size, dilation=d) for d in dilations)
        self.mixins = nn.ModuleList(nn.Conv1d(1, channels, 1, bias=False) for _ in dilations)
        self.residuals = nn.ModuleList(nn.Conv1d(channels, channels, 1) for _ in dilations)
        self.head = nn.Conv1d(channels, head_size, 1, bias=head_bias)

    def forward(self, h, condition, head, pad: bool):
        """(array input, raw input, previous array's head output or None) -> (layer output, head output).

        Valid mode: every tensor ends at the same sample, each layer's output is shorter by its
        conv's reach, and the longer ones (condition, head) are cut to the newest samples."""
        h = self.rechannel(h)
        for conv, mixin, residual in zip(self.convs, self.mixins, self.residuals):
            shrink = (self.kernel_size - 1) * conv.dilation[0]
            z = conv(F.pad(h, (shrink, 0)) if pad else h)
            a = torch.tanh(z + mixin(condition[..., -z.shape[-1]:]))
            head = a if head is None else head[..., -a.shape[-1]:] + a
            h = h[..., -a.shape[-1]:] + residual(a)
        return h, self.head(head)


class NamA1WaveNet(nn.Module):
    """NAM's A1 WaveNet: layer arrays in series (array a+1 reads array a's last layer output and
    continues its head sum from array a's head output); output = last head output * head_scale.

    `layers` are NAM's layer configs (input_size, condition_size 1, channels, head_size, kernel_size,
    dilations, activation "Tanh", gated false, head_bias). The padded forward zero-pads every conv's
    input (a reset state); NAM's engines then prewarm (`prewarm_samples` zeros after every reset), so
    a played .nam equals the padded forward of `prewarm_samples` zeros followed by the signal, with
    those first outputs dropped (== the valid forward once the history is receptive_field - 1 zeros)."""

    def __init__(self, layers: list[dict], head_scale: float = 0.02, input_gain: float = 1.0):
        super().__init__()
        for i, cfg in enumerate(layers):
            if cfg.get("activation", "Tanh") != "Tanh" or cfg.get("gated", False) or cfg.get("condition_size", 1) != 1:
                raise AmpemuError(f"layer array {i}: training supports NAM's A1 arrays with Tanh, not gated, "
                                  f"condition_size 1")
        self.layers = [dict(cfg) for cfg in layers]
        self.head_scale = float(head_scale)
        self.arrays = nn.ModuleList(
            NamLayerArray(cfg["input_size"], cfg["channels"], cfg["head_size"], cfg["kernel_size"],
                          cfg["dilations"], cfg["head_bias"]) for cfg in layers)
        # the last layer's residual feeds nothing (NAM still stores it): frozen, as in GatedWaveNet
        self.arrays[-1].residuals[-1].requires_grad_(False)
        # fixed input gain; export folds it into the first rechannel and every mixin (both bias-free)
        self.register_buffer("input_gain", torch.tensor(float(input_gain)))

    @property
    def receptive_field(self) -> int:
        return 1 + sum((a.kernel_size - 1) * sum(a.dilations) for a in self.arrays)

    @property
    def prewarm_samples(self) -> int:
        """NeuralAmpModelerCore's reset: this many zeros run through the model (the ONNX export reads it)."""
        return self.receptive_field

    def forward(self, x: torch.Tensor, pad: bool = False) -> torch.Tensor:
        """x (B, 1, T) -> (B, 1, T - receptive_field + 1), or (B, 1, T) with pad=True."""
        x = x * self.input_gain
        h, head = x, None
        for array in self.arrays:
            h, head = array(h, x, head, pad)
        return head * self.head_scale


ARCHITECTURES = {"gated_wavenet": GatedWaveNet, "nam_wavenet": NamA1WaveNet}


def nam_a1_config(channels: int, head: int, first: list[int], second: list[int]) -> dict:
    """NAM's trainer presets: two arrays, C -> C/2 channels, the first's head feeding the second."""
    common = {"condition_size": 1, "kernel_size": 3, "activation": "Tanh", "gated": False}
    return {"layers": [
        {"input_size": 1, "channels": channels, "head_size": head, "dilations": first, "head_bias": False, **common},
        {"input_size": channels, "channels": head, "head_size": 1, "dilations": second, "head_bias": True, **common},
    ], "head_scale": 0.02}


NAM_STANDARD_DILATIONS = [2 ** i for i in range(10)]  # 1..512
NAM_LITE_DILATIONS = ([2 ** i for i in range(7)], [128, 256, 512] + [2 ** i for i in range(10)])

PRESETS = {
    "seed": ("gated_wavenet", {"channels": 4, "kernel_size": 3, "dilations": SEED_DILATIONS}),
    "gated-8": ("gated_wavenet", {"channels": 8, "kernel_size": 3, "dilations": SEED_DILATIONS}),
    "gated-16": ("gated_wavenet", {"channels": 16, "kernel_size": 3, "dilations": SEED_DILATIONS}),
    # NAM's own trainer presets (nam/train/core.py), exported as .nam
    "nam-standard": ("nam_wavenet", nam_a1_config(16, 8, NAM_STANDARD_DILATIONS, NAM_STANDARD_DILATIONS)),
    "nam-lite": ("nam_wavenet", nam_a1_config(12, 6, *NAM_LITE_DILATIONS)),
    "nam-feather": ("nam_wavenet", nam_a1_config(8, 4, *NAM_LITE_DILATIONS)),
    "nam-nano": ("nam_wavenet", nam_a1_config(4, 2, *NAM_LITE_DILATIONS)),
}


def resolve_architecture(preset: str, overrides: dict | None = None) -> tuple[str, dict]:
    """(architecture name, full config) for a preset with optional per-key overrides (None = keep)."""
    if preset not in PRESETS:
        raise AmpemuError(f"unknown preset '{preset}'; choose one of: {', '.join(PRESETS)}")
    arch, config = PRESETS[preset]
    config = dict(config)
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = sorted(set(overrides) - set(config))
    if unknown:
        raise AmpemuError(f"preset '{preset}' has no {', '.join(unknown)} setting to override "
                          f"(its settings: {', '.join(config)})")
    config.update(overrides)
    return arch, config


def build_network(architecture: str, config: dict) -> nn.Module:
    if architecture not in ARCHITECTURES:
        raise AmpemuError(f"unknown architecture '{architecture}'; known: {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[architecture](**config)


@torch.no_grad()
def render_long(network: nn.Module, x: torch.Tensor, chunk: int = 1 << 17) -> torch.Tensor:
    """Padded forward of a long 1-D signal in chunks (bounded memory), equal to one padded forward.

    The first chunk runs padded (zero state, as the engine); later chunks run valid on real history.
    Padding only reaches outputs within one receptive field of the start, so chunks start past 2 RF."""
    rf = network.receptive_field
    chunk = max(chunk, 2 * rf)
    out = [network(x[None, None, :chunk], pad=True)[0, 0]]
    for start in range(chunk, x.numel(), chunk):
        piece = x[start - rf + 1:start + chunk]
        out.append(network(piece[None, None])[0, 0])
    return torch.cat(out)
