"""Model architectures for training (torch) and their named presets.

`GatedWaveNet` is the exact maths of the engine's kernel (engine/reference.py): input 1x1 conv,
per layer a causal dilated conv C -> 2C, tanh(a) * sigmoid(b), a residual 1x1 conv, and a linear mix
of every layer's gated output. Two forward modes:
- valid (training): the input carries receptive-field - 1 samples of real history and the output is
  that much shorter; every output sample has full context;
- padded (`pad=True`, rendering): every layer's input is zero-padded on the left, exactly what the
  engine does from a reset state, so the output matches the exported model sample for sample.

An architecture is a torch Module with `receptive_field` and a `from_config(**cfg)` constructor;
ARCHITECTURES maps its name to the class, PRESETS map a user-facing name to (architecture, config).
New families (e.g. NAM's A1 WaveNet) add an entry to both and an exporter in training/export.py.
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


ARCHITECTURES = {"gated_wavenet": GatedWaveNet}

PRESETS = {
    "seed": ("gated_wavenet", {"channels": 4, "kernel_size": 3, "dilations": SEED_DILATIONS}),
    "gated-8": ("gated_wavenet", {"channels": 8, "kernel_size": 3, "dilations": SEED_DILATIONS}),
    "gated-16": ("gated_wavenet", {"channels": 16, "kernel_size": 3, "dilations": SEED_DILATIONS}),
}


def resolve_architecture(preset: str, overrides: dict | None = None) -> tuple[str, dict]:
    """(architecture name, full config) for a preset with optional per-key overrides (None = keep)."""
    if preset not in PRESETS:
        raise AmpemuError(f"unknown preset '{preset}'; choose one of: {', '.join(PRESETS)}")
    arch, config = PRESETS[preset]
    config = dict(config)
    config.update({k: v for k, v in (overrides or {}).items() if v is not None})
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
