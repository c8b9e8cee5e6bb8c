"""What `ampemu bench` measures: model files, or built-in architectures with deterministic random weights.

Built-ins are made through the engine's format dataclasses, so no torch and no file is needed, and
the cost is that of a real capture (weights change the numbers, not the work). Random weights follow
torch's default init scale (uniform +-1/sqrt(fan_in)) so signals stay in a realistic range.
- `seed`, `gated-8`, `gated-16`: the gated WaveNet (WaveNetVA .json) with 4, 8 and 16 channels,
  kernel 3, dilations 1..256 twice (training/model.py's presets of the same names), 44.1 kHz;
- `nam-nano`, `nam-feather`, `nam-lite`, `nam-standard`: NAM's A1 WaveNet sizes as NAM's trainer and
  NeuralAmpModelerCore define them (two layer arrays, Tanh, not gated, head_scale 0.02), 48 kHz.

`macs_per_sample` counts multiply-accumulates from the architecture (NAM models count their own, in
engine/formats/nam.py): the figure the Pi 5 estimate in docs/benchmarks.md scales (activations are
counted apart, in `activations_per_sample`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import AmpemuError
from engine.formats import nam, wavenetva_json
from engine.formats.nam import NamLayerArray, NamWaveNet
from engine.formats.wavenetva_json import GatedWaveNetWeights

SEED_DILATIONS = [2 ** i for i in range(9)] * 2  # 1..256 twice (the seed project's architecture)
# NAM A1 sizes: (channels, head size) of the two layer arrays and their dilations
_NAM_SHORT = ([1, 2, 4, 8, 16, 32, 64], [128, 256, 512, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512])
_NAM_STANDARD = ([2 ** i for i in range(10)], [2 ** i for i in range(10)])
NAM_SIZES = {
    "nano": ((4, 2), (2, 1), _NAM_SHORT),
    "feather": ((8, 4), (4, 1), _NAM_SHORT),
    "lite": ((12, 6), (6, 1), _NAM_SHORT),
    "standard": ((16, 8), (8, 1), _NAM_STANDARD),
}


@dataclass
class Target:
    name: str
    family: str  # "gated" (GatedWaveNetWeights), "nam" (any parsed .nam) or "onnx" (a streaming .onnx path)
    model: object
    sample_rate: int
    source: str  # "built-in" or the file's path

    @property
    def macs_per_sample(self) -> int | None:
        if self.family == "gated":
            return gated_macs(self.model)
        if self.family == "nam":
            return self.model.macs_per_sample  # the .nam format module counts every NAM architecture
        return None

    @property
    def activations_per_sample(self) -> int | None:
        if self.family == "gated":
            return 2 * self.model.channels * len(self.model.dilations)  # tanh and sigmoid per channel
        if self.family == "nam":
            return self.model.activations_per_sample
        return None


def gated_macs(w: GatedWaveNetWeights) -> int:
    c, k, layers = w.channels, w.kernel_size, len(w.dilations)
    # input 1x1, per layer: dilated conv C -> 2C, residual 1x1 C -> C, mix C -> 1
    return c + layers * (k * c * 2 * c + c * c + c)


def _uniform(rng, fan_in: int, *shape) -> np.ndarray:
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, shape).astype(np.float32)


def random_gated(channels: int, kernel_size: int = 3, dilations=SEED_DILATIONS, seed: int = 0) -> GatedWaveNetWeights:
    rng = np.random.default_rng(seed)
    c, layers = channels, len(dilations)
    return GatedWaveNetWeights(
        channels=c, kernel_size=kernel_size, dilations=list(dilations),
        input_weight=_uniform(rng, 1, c), input_bias=_uniform(rng, 1, c),
        conv_weights=[_uniform(rng, c * kernel_size, 2 * c, c, kernel_size) for _ in dilations],
        conv_biases=[_uniform(rng, c * kernel_size, 2 * c) for _ in dilations],
        residual_weights=[_uniform(rng, c, c, c) for _ in dilations],
        residual_biases=[_uniform(rng, c, c) for _ in dilations],
        mix_weight=_uniform(rng, layers * c, layers * c), mix_bias=0.0,
        sample_rate=44100, metadata={"name": f"random gated {c} ch"})


def random_nam(size: str, seed: int = 0) -> NamWaveNet:
    rng = np.random.default_rng(seed)
    channels, heads, dilation_sets = NAM_SIZES[size]
    arrays = []
    for index, (c, head, dilations) in enumerate(zip(channels, heads, dilation_sets)):
        inputs = 1 if index == 0 else channels[index - 1]
        arrays.append(NamLayerArray(
            input_size=inputs, condition_size=1, head_size=head, channels=c, kernel_size=3,
            dilations=list(dilations), activation="Tanh", gated=False,
            rechannel=_uniform(rng, inputs, c, inputs),
            conv_weights=[_uniform(rng, 3 * c, c, c, 3) for _ in dilations],
            conv_biases=[_uniform(rng, 3 * c, c) for _ in dilations],
            mixin_weights=[_uniform(rng, 1, c, 1) for _ in dilations],
            residual_weights=[_uniform(rng, c, c, c) for _ in dilations],
            residual_biases=[_uniform(rng, c, c) for _ in dilations],
            head_weight=_uniform(rng, c, head, c),
            head_bias_values=_uniform(rng, c, head) if index == len(channels) - 1 else None))
    return NamWaveNet(arrays=arrays, head_scale=0.02, sample_rate=48000, metadata={"name": f"random NAM {size}"})


BUILTINS = {
    "seed": lambda: Target("seed", "gated", random_gated(4), 44100, "built-in"),
    "gated-8": lambda: Target("gated-8", "gated", random_gated(8), 44100, "built-in"),
    "gated-16": lambda: Target("gated-16", "gated", random_gated(16), 44100, "built-in"),
    **{f"nam-{size}": (lambda size=size: Target(f"nam-{size}", "nam", random_nam(size), 48000, "built-in"))
       for size in NAM_SIZES},
}


def slimmed_target(target: Target, size: float) -> Target:
    """The submodel (container) or channel slice (slimmable WaveNet) a NAM file plays at `size`."""
    model = target.model
    if isinstance(model, nam.NamContainer):
        model = model.submodels[model.index_for(size)][1]
    elif isinstance(model, NamWaveNet) and model.is_slimmable:
        model = model.slimmed(size)
    else:
        return target
    return Target(f"{target.name} (slim {size:g})", target.family, model, target.sample_rate, target.source)


def resolve_target(spec: str) -> Target:
    """A built-in name, or a .json / .nam / .onnx file."""
    if spec in BUILTINS:
        return BUILTINS[spec]()
    path = Path(spec)
    suffix = path.suffix.lower()
    if suffix not in (".json", ".nam", ".onnx"):
        raise AmpemuError(f"{spec}: neither a built-in model ({', '.join(BUILTINS)}) nor a .json, .nam or .onnx file")
    if not path.is_file():
        raise AmpemuError(f"{spec}: no such model file (built-in names: {', '.join(BUILTINS)})")
    if suffix == ".json":
        weights = wavenetva_json.read_model(path)
        return Target(path.stem, "gated", weights, weights.sample_rate, str(path))
    if suffix == ".nam":
        model = nam.read_nam(path)
        return Target(path.stem, "nam", model, model.sample_rate, str(path))
    from engine.onnx_backend import load_onnx_model  # reads the rate from the file's metadata

    return Target(path.stem, "onnx", path, load_onnx_model(path).sample_rate, str(path))
