"""What `ampemu bench` measures: model files, or built-in architectures with deterministic random weights.

Built-ins are made through the engine's format dataclasses, so no torch and no file is needed, and
the cost is that of a real capture (weights change the numbers, not the work). Random weights follow
torch's default init scale (uniform +-1/sqrt(fan_in)) so signals stay in a realistic range.
- `seed`, `gated-8`, `gated-16`: the gated WaveNet (WaveNetVA .json) with 4, 8 and 16 channels,
  kernel 3, dilations 1..256 twice (training/model.py's presets of the same names), 44.1 kHz;
- `nam-nano`, `nam-feather`, `nam-lite`, `nam-standard`: NAM's A1 WaveNet sizes as NAM's trainer and
  NeuralAmpModelerCore define them (two layer arrays, Tanh, not gated, head_scale 0.02), 48 kHz.

`macs_per_sample` counts multiply-accumulates from the architecture (each parsed model counts its own,
in its format module): the figure the Pi 5 estimate in docs/benchmarks.md scales (activations are
counted apart, in `activations_per_sample`). A target's family is its name in engine/families.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine import families
from engine.errors import AmpemuError
from engine.formats.nam import DEFAULT_NEGATIVE_SLOPE, NamLayerArray, NamWaveNet
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
    family: str  # its name in engine/families.py ("gated_wavenet", "nam_container", "onnx", ...)
    model: object  # what the family's reader returned
    sample_rate: int
    source: str  # "built-in" or the file's path

    @property
    def macs_per_sample(self) -> int | None:
        return getattr(self.model, "macs_per_sample", None)  # an .onnx graph does not count its own

    @property
    def activations_per_sample(self) -> int | None:
        return getattr(self.model, "activations_per_sample", None)


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
            input_size=inputs, condition_size=1, head_size=head, channels=c, dilations=list(dilations),
            kernel_sizes=[3] * len(dilations), activations=[("Tanh", DEFAULT_NEGATIVE_SLOPE)] * len(dilations),
            gating=[False] * len(dilations),
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
    "seed": lambda: Target("seed", "gated_wavenet", random_gated(4), 44100, "built-in"),
    "gated-8": lambda: Target("gated-8", "gated_wavenet", random_gated(8), 44100, "built-in"),
    "gated-16": lambda: Target("gated-16", "gated_wavenet", random_gated(16), 44100, "built-in"),
    **{f"nam-{size}": (lambda size=size: Target(f"nam-{size}", "nam_wavenet", random_nam(size), 48000, "built-in"))
       for size in NAM_SIZES},
}


def slimmed_target(target: Target, size: float) -> Target:
    """The submodel (container) or channel slice (slimmable WaveNet) a NAM file plays at `size`."""
    family = families.by_name(target.family)
    if not families.slim_sizes(family, target.model):
        return target
    model = family.slimmed(target.model, size)
    name = family.size_name(target.model, size) if family.size_name else None
    return Target(f"{target.name} ({name + ', ' if name else ''}slim {size:g})", families.of_model(model).name, model,
                  target.sample_rate, target.source)


def resolve_target(spec: str) -> Target:
    """A built-in name, or a .json / .nam / .onnx file."""
    if spec in BUILTINS:
        return BUILTINS[spec]()
    path = Path(spec)
    suffix = path.suffix.lower()
    if suffix not in families.suffixes():
        raise AmpemuError(f"{spec}: neither a built-in model ({', '.join(BUILTINS)}) nor a "
                          f"{', '.join(families.suffixes()[:-1])} or {families.suffixes()[-1]} file")
    if not path.is_file():
        raise AmpemuError(f"{spec}: no such model file (built-in names: {', '.join(BUILTINS)})")
    family, model = families.read(path)
    return Target(path.stem, family.name, model, model.sample_rate, str(path))
