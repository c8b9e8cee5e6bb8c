"""Model architectures for training (torch) and their named presets.

`GatedWaveNet` is the exact maths of the engine's kernel (ampemu_tools/reference.py): input 1x1 conv,
per layer a causal dilated conv C -> 2C, tanh(a) * sigmoid(b), a residual 1x1 conv, and a linear mix
of every layer's gated output. Two forward modes:
- valid (training): the input carries receptive-field - 1 samples of real history and the output is
  that much shorter; every output sample has full context;
- padded (`pad=True`, rendering): every layer's input is zero-padded on the left, exactly what the
  engine does from a reset state, so the output matches the exported model sample for sample.

`NamA1WaveNet` is Neural Amp Modeler's classic ("A1") WaveNet and `NamA2WaveNet` the A2 one NAM 0.13
trains by default, the maths of engine/formats/nam/ and its kernel, with the same two forward modes
(NAM's engine then prewarms: see `NamWaveNet`). `NamContainerNet` is NAM's SlimmableContainer of A2
WaveNets, trained jointly (the `nam-a2` preset: A2-Lite and A2-Full).

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
    """One NAM layer array (A1 and A2): rechannel 1x1 (no bias); per layer a dilated conv C -> B (bias),
    a 1x1 input mixin from the raw input (no bias), the activation, a 1x1 B -> C back into the
    residual stream (bias: A1's residual, A2's layer1x1); a head conv of the summed activations
    (kernel 1 in A1). B (the bottleneck) is C in A1."""

    def __init__(self, input_size: int, channels: int, head_size: int, kernel_sizes: list[int], dilations: list[int],
                 head_bias: bool, bottleneck: int | None = None, activation: str = "Tanh",
                 negative_slope: float = 0.01, head_kernel_size: int = 1):
        super().__init__()
        b = bottleneck or channels
        self.kernel_sizes, self.dilations, self.bottleneck = list(kernel_sizes), list(dilations), b
        self.activation, self.negative_slope = activation, float(negative_slope)
        self.rechannel = nn.Conv1d(input_size, channels, 1, bias=False)
        self.convs = nn.ModuleList(nn.Conv1d(channels, b, k, dilation=d) for k, d in zip(kernel_sizes, dilations))
        self.mixins = nn.ModuleList(nn.Conv1d(1, b, 1, bias=False) for _ in dilations)
        self.residuals = nn.ModuleList(nn.Conv1d(b, channels, 1) for _ in dilations)
        self.head = nn.Conv1d(b, head_size, head_kernel_size, bias=head_bias)

    @property
    def receptive_field(self) -> int:
        """Zero-based: samples back that reach the array's head output."""
        return sum((k - 1) * d for k, d in zip(self.kernel_sizes, self.dilations)) + self.head.kernel_size[0] - 1

    def act(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(z) if self.activation == "Tanh" else F.leaky_relu(z, self.negative_slope)

    def forward(self, h, condition, head, pad: bool):
        """(array input, raw input, previous array's head output or None) -> (layer output, head output).

        Valid mode: every tensor ends at the same sample, each layer's output is shorter by its
        conv's reach, and the longer ones (condition, head) are cut to the newest samples; the head conv
        shortens by its kernel - 1 and the layer output is cut to match."""
        h = self.rechannel(h)
        for conv, mixin, residual in zip(self.convs, self.mixins, self.residuals):
            shrink = (conv.kernel_size[0] - 1) * conv.dilation[0]
            z = conv(F.pad(h, (shrink, 0)) if pad else h)
            a = self.act(z + mixin(condition[..., -z.shape[-1]:]))
            head = a if head is None else head[..., -a.shape[-1]:] + a
            h = h[..., -a.shape[-1]:] + residual(a)
        reach = self.head.kernel_size[0] - 1
        head = self.head(F.pad(head, (reach, 0)) if pad else head)
        return h[..., -head.shape[-1]:], head


class NamWaveNet(nn.Module):
    """NAM's WaveNet: layer arrays in series (array a+1 reads array a's last layer output and
    continues its head sum from array a's head output); output = last head output * head_scale.

    The padded forward zero-pads every conv's input (a reset state); NAM's engines then prewarm
    (`prewarm_samples` zeros after every reset), so a played .nam equals the padded forward of
    `prewarm_samples` zeros followed by the signal, with those first outputs dropped (== the valid
    forward once the history is receptive_field - 1 zeros). Subclasses read NAM's A1 or A2 config."""

    a2 = False  # the .nam form the export writes

    def __init__(self, arrays: list[NamLayerArray], head_scale: float, input_gain: float):
        super().__init__()
        self.head_scale = float(head_scale)
        self.arrays = nn.ModuleList(arrays)
        # the last layer's residual feeds nothing (NAM still stores it): frozen, as in GatedWaveNet
        self.arrays[-1].residuals[-1].requires_grad_(False)
        # fixed input gain; export folds it into the first rechannel and every mixin (both bias-free)
        self.register_buffer("input_gain", torch.tensor(float(input_gain)))

    @property
    def receptive_field(self) -> int:
        return 1 + sum(a.receptive_field for a in self.arrays)

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


class NamA1WaveNet(NamWaveNet):
    """NAM's classic ("A1") WaveNet. `layers` are NAM's layer configs (input_size, condition_size 1,
    channels, head_size, kernel_size, dilations, activation "Tanh", gated false, head_bias)."""

    def __init__(self, layers: list[dict], head_scale: float = 0.02, input_gain: float = 1.0):
        for i, cfg in enumerate(layers):
            if cfg.get("activation", "Tanh") != "Tanh" or cfg.get("gated", False) or cfg.get("condition_size", 1) != 1:
                raise AmpemuError(f"layer array {i}: training supports NAM's A1 arrays with Tanh, not gated, "
                                  f"condition_size 1")
        super().__init__([NamLayerArray(cfg["input_size"], cfg["channels"], cfg["head_size"],
                                        [cfg["kernel_size"]] * len(cfg["dilations"]), cfg["dilations"],
                                        cfg["head_bias"]) for cfg in layers], head_scale, input_gain)


# the A2 keys training implements: what NAM 0.13's default (A2-Lite / A2-Full) uses
A2_KEYS = {"input_size", "condition_size", "channels", "bottleneck", "kernel_sizes", "dilations", "activation",
           "gated", "head"}
A2_ACTIVATIONS = ("LeakyReLU", "Tanh")


def _a2_activation(i: int, value) -> tuple[str, float]:
    name, slope = (value.get("type"), value.get("negative_slope", 0.01)) if isinstance(value, dict) else (value, 0.01)
    if name not in A2_ACTIVATIONS or (isinstance(value, dict) and set(value) - {"type", "negative_slope"}):
        raise AmpemuError(f"layer array {i}: training supports the A2 activations {', '.join(A2_ACTIVATIONS)} "
                          f"(one for every layer), not {value!r}")
    return name, float(slope)


class NamA2WaveNet(NamWaveNet):
    """NAM's A2 WaveNet as NAM 0.13 trains it by default: per-layer kernel sizes, a bottleneck B with an
    active layer1x1 (B -> C), one activation (LeakyReLU or Tanh) for every layer, not gated, no head1x1,
    a head conv of any kernel size. `layers` are NAM's A2 layer configs (input_size, condition_size 1,
    channels, bottleneck, kernel_sizes, dilations, activation, gated false, head {out_channels,
    kernel_size, bias}); any other A2 feature (gating, head1x1, FiLM, groups, slimmable) is refused."""

    a2 = True

    def __init__(self, layers: list[dict], head_scale: float = 0.01, input_gain: float = 1.0):
        arrays = []
        for i, cfg in enumerate(layers):
            unknown = sorted(set(cfg) - A2_KEYS)
            if unknown or cfg.get("gated", False) or cfg.get("condition_size", 1) != 1:
                what = f"'{unknown[0]}'" if unknown else "gating or a condition_size other than 1"
                raise AmpemuError(f"layer array {i}: training supports A2 arrays with per-layer kernel sizes, a "
                                  f"bottleneck, layer1x1, LeakyReLU/Tanh and a head conv; not {what}")
            if len(cfg["kernel_sizes"]) != len(cfg["dilations"]):
                raise AmpemuError(f"layer array {i}: {len(cfg['kernel_sizes'])} kernel_sizes for "
                                  f"{len(cfg['dilations'])} dilations")
            activation, slope = _a2_activation(i, cfg["activation"])
            head = cfg["head"]
            arrays.append(NamLayerArray(cfg["input_size"], cfg["channels"], head["out_channels"], cfg["kernel_sizes"],
                                        cfg["dilations"], head["bias"], cfg.get("bottleneck"), activation, slope,
                                        head["kernel_size"]))
        super().__init__(arrays, head_scale, input_gain)


class NamContainerNet(nn.Module):
    """NAM's SlimmableContainer: A2 WaveNets of growing size, each with the `max_value` below which a
    player picks it (Core: the first with size < max_value, else the last, the default).

    They train jointly (NAM's packed training): `submodel_outputs` gives every one's output for the
    loss; `forward` is the default (largest) model's, what validation, predict and test judge. The
    input gain is the container's, shared by all (export folds it into each)."""

    def __init__(self, submodels: list[dict], input_gain: float = 1.0):
        super().__init__()
        values = [float(s["max_value"]) for s in submodels]
        if not values or any(b <= a for a, b in zip(values, values[1:])):
            raise AmpemuError(f"a container needs submodels sorted by increasing max_value, got {values}")
        self.max_values = values
        self.nets = nn.ModuleList(NamA2WaveNet(s["layers"], s.get("head_scale", 0.01)) for s in submodels)
        self.register_buffer("input_gain", torch.tensor(float(input_gain)))

    @property
    def receptive_field(self) -> int:
        return max(net.receptive_field for net in self.nets)

    @property
    def prewarm_samples(self) -> int:
        return self.receptive_field

    def _output(self, net: NamA2WaveNet, x: torch.Tensor, pad: bool) -> torch.Tensor:
        """One submodel's output, as long as the container's (the valid length of the widest reach)."""
        length = x.shape[-1] if pad else x.shape[-1] - self.receptive_field + 1
        return net(x * self.input_gain, pad=pad)[..., -length:]

    def submodel_outputs(self, x: torch.Tensor, pad: bool = False) -> list[torch.Tensor]:
        """Every submodel's output, smallest first (the training loss sums their losses)."""
        return [self._output(net, x, pad) for net in self.nets]

    def forward(self, x: torch.Tensor, pad: bool = False) -> torch.Tensor:
        """The default (largest) submodel: (B, 1, T) -> (B, 1, T - receptive_field + 1), or (B, 1, T) padded."""
        return self._output(self.nets[-1], x, pad)


ARCHITECTURES = {"gated_wavenet": GatedWaveNet, "nam_wavenet": NamA1WaveNet, "nam_container": NamContainerNet}


def nam_a1_config(channels: int, head: int, first: list[int], second: list[int]) -> dict:
    """NAM's trainer presets: two arrays, C -> C/2 channels, the first's head feeding the second."""
    common = {"condition_size": 1, "kernel_size": 3, "activation": "Tanh", "gated": False}
    return {"layers": [
        {"input_size": 1, "channels": channels, "head_size": head, "dilations": first, "head_bias": False, **common},
        {"input_size": channels, "channels": head, "head_size": 1, "dilations": second, "head_bias": True, **common},
    ], "head_scale": 0.02}


NAM_A2_DILATIONS = [1, 3, 7, 17, 41, 101, 239]


def nam_a2_config(channels: int, bottleneck: int | None = None) -> dict:
    """NAM 0.13's A2 WaveNet (its packed trainer's config): one array of 23 layers, kernel 6 (15 on
    two middle layers), LeakyReLU, a 16-tap head conv, head_scale 0.01; receptive field 6347."""
    dilations = NAM_A2_DILATIONS * 2 + [1, 13] + NAM_A2_DILATIONS
    kernels = [6] * 14 + [15, 15] + [6] * 7
    return {"layers": [{"input_size": 1, "condition_size": 1, "channels": channels,
                        "bottleneck": bottleneck or channels, "kernel_sizes": kernels, "dilations": dilations,
                        "activation": {"type": "LeakyReLU", "negative_slope": 0.01}, "gated": False,
                        "head": {"out_channels": 1, "kernel_size": 16, "bias": True}}], "head_scale": 0.01}


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
    # NAM 0.13's default: a SlimmableContainer of A2-Lite (played below --slim 0.5) and A2-Full, trained jointly
    "nam-a2": ("nam_container", {"submodels": [{"max_value": 0.5, **nam_a2_config(3)},
                                               {"max_value": 1.0, **nam_a2_config(8)}]}),
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
