"""What a `.nam` file holds, as dataclasses: NamLayerArray, NamWaveNet (A1 and A2), NamLSTM,
NamContainer; their receptive field, cost and description. Reading is parse.py's, writing write.py's,
slimming slim.py's; the layout of the file is described in engine/formats/nam/__init__.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.formats.nam.slim import slim_wavenet

DEFAULT_SAMPLE_RATE = 48000
WRITE_VERSION = "0.5.4"  # what NeuralAmpModelerCore 0.5 and every NAM plugin since load
A2_WRITE_VERSION = "0.7.0"  # what NAM 0.13 writes for A2 WaveNets and their containers (Core 0.7+ loads)


@dataclass
class NamLayerArray:
    """One WaveNet layer array in torch layouts (B = bottleneck, default C; B' = 2B for a gated layer).

    rechannel (C, input_size); conv_weights[l] (B', C, K_l), conv_biases[l] (B',): causal dilated conv,
    tap k reads the sample (K-1-k)*dilation back; mixin_weights[l] (B', condition_size);
    residual_weights[l] (C, B) as (out, in), residual_biases[l] (C,) (the layer1x1; empty lists when
    inactive); head1x1_weights[l] (O, B) + head1x1_biases[l] (O,) when head1x1 is active;
    head_weight (head_size, head_in) or (head_size, head_in, head_kernel_size), head_bias_values
    (head_size,) or None. Each layer's kernel size, activation and gating are lists (an A1 file's
    scalars repeat for every layer).
    """

    input_size: int
    condition_size: int
    head_size: int
    channels: int
    dilations: list[int]
    kernel_sizes: list[int]  # per layer
    activations: list[tuple[str, float]]  # per layer: (torch name, LeakyReLU's slope; unused by the others)
    gating: list[bool]  # per layer: gated (the secondary activation is a sigmoid)
    rechannel: np.ndarray
    conv_weights: list[np.ndarray]
    conv_biases: list[np.ndarray]
    mixin_weights: list[np.ndarray]
    residual_weights: list[np.ndarray]
    residual_biases: list[np.ndarray]
    head_weight: np.ndarray
    head_bias_values: np.ndarray | None = None
    bottleneck: int | None = None  # None: channels
    layer1x1: bool = True
    head1x1_weights: list[np.ndarray] | None = None
    head1x1_biases: list[np.ndarray] | None = None
    head_kernel_size: int = 1
    a2: bool = False  # the file form it is written in: A2 (per-layer lists, head object) or A1 (scalars)
    allowed_channels: list[int] | None = None  # slimmable ("slice_channels_uniform"): channel counts it may run at

    @property
    def head_bias(self) -> bool:
        return self.head_bias_values is not None

    @property
    def inner_channels(self) -> int:
        """B: the conv, mixin and activation width."""
        return self.channels if self.bottleneck is None else self.bottleneck

    @property
    def head_in(self) -> int:
        """Rows the head accumulates: head1x1's outputs when active, else B."""
        return self.head1x1_weights[0].shape[0] if self.head1x1_weights else self.inner_channels

    def layer_kernel(self, i: int) -> int:
        return self.kernel_sizes[i]

    def layer_activation(self, i: int) -> tuple[str, float]:
        return self.activations[i]

    def layer_gated(self, i: int) -> bool:
        return self.gating[i]

    @property
    def uniform(self) -> bool:
        """Every layer has the same kernel size, activation and gating (what an A1 file can say)."""
        return len({*self.kernel_sizes}) == len({*self.activations}) == len({*self.gating}) == 1

    @property
    def receptive_field(self) -> int:
        """Zero-based: samples back that reach the array's head output."""
        return sum((self.layer_kernel(i) - 1) * d for i, d in enumerate(self.dilations)) + self.head_kernel_size - 1

    def parameters(self) -> list[np.ndarray]:
        """Every tensor in NAM's flat order."""
        out = [self.rechannel]
        for layer in range(len(self.dilations)):
            out += [self.conv_weights[layer], self.conv_biases[layer], self.mixin_weights[layer]]
            if self.layer1x1:
                out += [self.residual_weights[layer], self.residual_biases[layer]]
            if self.head1x1_weights:
                out += [self.head1x1_weights[layer], self.head1x1_biases[layer]]
        out.append(self.head_weight)
        if self.head_bias_values is not None:
            out.append(self.head_bias_values)
        return out


@dataclass
class NamWaveNet:
    """A NAM WaveNet (A1 or A2): its layer arrays, head_scale, rate and metadata (what `.nam` holds)."""

    arrays: list[NamLayerArray]
    head_scale: float
    sample_rate: int = DEFAULT_SAMPLE_RATE
    metadata: dict = field(default_factory=dict)
    version: str = WRITE_VERSION
    condition_dsp: "NamWaveNet | None" = None  # its output (last head_size channels) is every layer's condition

    @property
    def receptive_field(self) -> int:
        """Input samples that reach one output (also NeuralAmpModelerCore's prewarm length)."""
        before = self.condition_dsp.receptive_field if self.condition_dsp else 1
        return before + sum(a.receptive_field for a in self.arrays)

    @property
    def macs_per_sample(self) -> int:
        """Multiply-accumulates per output sample (the cost estimate `ampemu info` and `bench` print)."""
        total = 0
        for a in self.arrays:
            c, b = a.channels, a.inner_channels
            total += c * a.input_size + a.head_size * a.head_in * a.head_kernel_size
            for i in range(len(a.dilations)):
                bc = 2 * b if a.layer_gated(i) else b
                total += a.layer_kernel(i) * c * bc + bc * a.condition_size + (c * b if a.layer1x1 else 0)
                total += a.head_in * b if a.head1x1_weights else 0
        return total + (self.condition_dsp.macs_per_sample if self.condition_dsp else 0)

    @property
    def is_slimmable(self) -> bool:
        return any(a.allowed_channels for a in self.arrays)

    def slimmed(self, size: float) -> "NamWaveNet":
        """Core's slimmable WaveNet at `size` (0..1): engine/formats/nam/slim.py."""
        return slim_wavenet(self, size)

    @property
    def activations_per_sample(self) -> int:
        return sum((2 if a.layer_gated(i) else 1) * a.inner_channels for a in self.arrays for i in range(len(a.dilations)))

    def describe(self) -> str:
        sizes = "/".join(str(a.channels) for a in self.arrays)
        layers = sum(len(a.dilations) for a in self.arrays)
        kernels = sorted({a.layer_kernel(i) for a in self.arrays for i in range(len(a.dilations))})
        acts = sorted({a.layer_activation(i)[0] + (" gated" if a.layer_gated(i) else "")
                       for a in self.arrays for i in range(len(a.dilations))})
        head = max(a.head_kernel_size for a in self.arrays)
        slim = "/".join(",".join(map(str, a.allowed_channels or [a.channels])) for a in self.arrays)
        return (f"NAM WaveNet, {sizes} channels, {layers} layers, kernel {'/'.join(map(str, kernels))}, "
                f"{', '.join(acts)}" + (f", head kernel {head}" if head > 1 else "")
                + (f", slimmable to {slim} channels" if self.is_slimmable else "")
                + (f", conditioned by a {self.condition_dsp.describe()}" if self.condition_dsp else ""))


@dataclass
class NamLSTM:
    """NAM's LSTM: stacked torch LSTM cells (gates i, f, g, o) then a linear head on the last hidden state.

    Per layer: w[l] (4H, in + H) acting on [x; h], b[l] (4H,), h0[l], c0[l] (H,): the state at load.
    """

    input_size: int
    hidden_size: int
    w: list[np.ndarray]
    b: list[np.ndarray]
    h0: list[np.ndarray]
    c0: list[np.ndarray]
    head_weight: np.ndarray  # (H,)
    head_bias: float
    sample_rate: int = DEFAULT_SAMPLE_RATE
    metadata: dict = field(default_factory=dict)
    version: str = WRITE_VERSION

    @property
    def num_layers(self) -> int:
        return len(self.w)

    @property
    def prewarm_samples(self) -> int:
        return int(0.5 * self.sample_rate)  # NeuralAmpModelerCore's: half a second of zeros settles the state

    @property
    def macs_per_sample(self) -> int:
        return sum(w.size for w in self.w) + self.hidden_size

    @property
    def activations_per_sample(self) -> int:
        return 5 * self.hidden_size * self.num_layers  # 3 sigmoids and 2 tanh per cell

    def describe(self) -> str:
        return f"NAM LSTM, {self.num_layers} layer{'s' if self.num_layers > 1 else ''}, hidden size {self.hidden_size}"


@dataclass
class NamContainer:
    """A SlimmableContainer: (max_value, model) pairs sorted by max_value; the last is the default."""

    submodels: list[tuple[float, "NamWaveNet | NamLSTM"]]
    sample_rate: int = DEFAULT_SAMPLE_RATE
    metadata: dict = field(default_factory=dict)
    version: str = WRITE_VERSION

    def index_for(self, size: float | None) -> int:
        """Core's SetSlimmableSize: the first submodel with size < max_value, else the last (None: the last)."""
        if size is None:
            return len(self.submodels) - 1
        return next((i for i, (top, _) in enumerate(self.submodels) if size < top), len(self.submodels) - 1)

    @property
    def default(self) -> "NamWaveNet | NamLSTM":
        return self.submodels[-1][1]

    @property
    def macs_per_sample(self) -> int:
        return self.default.macs_per_sample

    @property
    def activations_per_sample(self) -> int:
        return self.default.activations_per_sample

    def describe(self) -> str:
        return f"NAM SlimmableContainer of {len(self.submodels)} submodels"
