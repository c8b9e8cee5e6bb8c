"""Neural Amp Modeler `.nam` files: the WaveNet ("A1", classic config) read and written.

This module is the only place that knows the `.nam` layout; the kernel and training go through
`NamWaveNet`. A `.nam` file is one JSON object:
- `version` "0.5.x".."0.7.x", `architecture` "WaveNet", `sample_rate` (absent means 48000),
  `metadata` (free-form: name, loudness, input/output dBu, gear...), `config`, `weights`.
- `config`: `layers` (a list of layer arrays: input_size, condition_size, head_size, channels,
  kernel_size, dilations, activation, gated, head_bias), `head` null, `head_scale`.
- `weights`: one flat list, each torch weight (out, in, k) flattened row-major, in this order:
  per array: rechannel (C, in) without bias; per layer: dilated conv (C', C, K) + bias (C',),
  input mixin (C', condition) without bias, 1x1 residual (C, C) + bias (C,) [C' = 2C when gated];
  then the head rechannel (H, C) + bias (H,) if head_bias. Last: head_scale (NeuralAmpModelerCore
  uses this value, not the config's).

Maths (the kernel's contract): array a's input is the raw signal for a = 0, else the last layer
output of array a-1; its head accumulator starts at zero for a = 0, else at array a-1's head output.
Per layer, z = conv(h) + mixin(x) (x = the raw input, the condition); a = act(z), or
act(z[:C]) * sigmoid(z[C:]) when gated; head += a; h <- h + 1x1(a). The array's head output is its
head rechannel of the accumulator; the model's output is the last array's head output * head_scale.

Anything else (LSTM, ConvNet, Linear, SlimmableContainer/A2 WaveNets, condition DSPs, slimmable
channels, FiLM, ...) is refused in one line that names the feature and what is supported.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.atomic import write_atomically
from engine.errors import AmpemuError
from engine.formats.json_file import read_document

DEFAULT_SAMPLE_RATE = 48000
WRITE_VERSION = "0.5.4"  # what NeuralAmpModelerCore 0.5 and every NAM plugin since load
SUPPORTED_VERSIONS = ((0, 5), (0, 7))  # inclusive (major, minor) range
MAX_CHANNELS = 512
MAX_KERNEL = 64
MAX_DILATION = 1 << 16
SUPPORTED = "NAM WaveNet with the classic (A1) layer-array config, file version 0.5 to 0.7"
_NOT_YET = "(NAM A2, LSTM and slimmable models are not supported yet)"

# torch.nn names, as NAM writes them (the kernel numbers them in this order)
ACTIVATIONS = ("Tanh", "Hardtanh", "ReLU", "LeakyReLU", "Sigmoid", "SiLU", "Hardswish")
DEFAULT_NEGATIVE_SLOPE = 0.01  # torch's LeakyReLU default, what a plain "LeakyReLU" means
_ARRAY_KEYS = ("input_size", "condition_size", "head_size", "channels", "kernel_size", "dilations",
               "activation", "gated", "head_bias")
# keys newer exporters add to an A1 layer array, accepted only with a value that keeps the A1 maths
_FILMS = ("conv_pre_film", "conv_post_film", "input_mixin_pre_film", "input_mixin_post_film", "activation_pre_film",
          "activation_post_film", "layer1x1_post_film", "head1x1_post_film")


def _is_neutral(key: str, value, cfg: dict) -> bool:
    def inactive(v) -> bool:
        return isinstance(v, dict) and v.get("active") is False

    if key in _FILMS or key == "head1x1":
        return inactive(value)
    if key == "layer1x1":  # the residual 1x1, which A1 always has
        return isinstance(value, dict) and value.get("active") is True and value.get("groups", 1) == 1
    if key in ("groups_input", "groups_input_mixin"):
        return value == 1
    if key == "gating_mode":
        return value in ("none", "gated") and (value == "gated") == (cfg.get("gated") is True)
    if key == "bottleneck":
        return value == cfg.get("channels")
    return False


@dataclass
class NamLayerArray:
    """One WaveNet layer array in torch layouts (C' = 2C when gated, else C).

    rechannel (C, input_size); conv_weights[l] (C', C, K), conv_biases[l] (C',): causal dilated conv,
    tap k reads the sample (K-1-k)*dilation back; mixin_weights[l] (C', condition_size);
    residual_weights[l] (C, C) as (out, in), residual_biases[l] (C,); head_weight (head_size, C),
    head_bias_values (head_size,) or None when head_bias is false.
    """

    input_size: int
    condition_size: int
    head_size: int
    channels: int
    kernel_size: int
    dilations: list[int]
    activation: str
    gated: bool
    rechannel: np.ndarray
    conv_weights: list[np.ndarray]
    conv_biases: list[np.ndarray]
    mixin_weights: list[np.ndarray]
    residual_weights: list[np.ndarray]
    residual_biases: list[np.ndarray]
    head_weight: np.ndarray
    head_bias_values: np.ndarray | None = None
    negative_slope: float = DEFAULT_NEGATIVE_SLOPE  # LeakyReLU's slope (torch's default); unused by other activations

    @property
    def head_bias(self) -> bool:
        return self.head_bias_values is not None

    @property
    def conv_channels(self) -> int:
        return 2 * self.channels if self.gated else self.channels

    def parameters(self) -> list[np.ndarray]:
        """Every tensor in NAM's flat order."""
        out = [self.rechannel]
        for layer in range(len(self.dilations)):
            out += [self.conv_weights[layer], self.conv_biases[layer], self.mixin_weights[layer],
                    self.residual_weights[layer], self.residual_biases[layer]]
        out.append(self.head_weight)
        if self.head_bias_values is not None:
            out.append(self.head_bias_values)
        return out

    def _activation_config(self):
        if self.activation == "LeakyReLU" and self.negative_slope != DEFAULT_NEGATIVE_SLOPE:
            return {"type": "LeakyReLU", "negative_slope": float(self.negative_slope)}
        return self.activation

    def config(self) -> dict:
        return {"input_size": self.input_size, "condition_size": self.condition_size, "head_size": self.head_size,
                "channels": self.channels, "kernel_size": self.kernel_size, "dilations": list(self.dilations),
                "activation": self._activation_config(), "gated": bool(self.gated), "head_bias": self.head_bias}


@dataclass
class NamWaveNet:
    """A NAM A1 WaveNet: its layer arrays, head_scale, rate and metadata (what `.nam` holds)."""

    arrays: list[NamLayerArray]
    head_scale: float
    sample_rate: int = DEFAULT_SAMPLE_RATE
    metadata: dict = field(default_factory=dict)
    version: str = WRITE_VERSION

    @property
    def receptive_field(self) -> int:
        """Input samples that reach one output (also NeuralAmpModelerCore's prewarm length)."""
        return 1 + sum((a.kernel_size - 1) * d for a in self.arrays for d in a.dilations)

    def describe(self) -> str:
        sizes = "/".join(str(a.channels) for a in self.arrays)
        layers = sum(len(a.dilations) for a in self.arrays)
        acts = sorted({a.activation + (" gated" if a.gated else "") for a in self.arrays})
        return f"NAM WaveNet, {sizes} channels, {layers} layers, kernel {self.arrays[0].kernel_size}, {', '.join(acts)}"


def _fail(path, what: str) -> AmpemuError:
    return AmpemuError(f"{path}: {what}")


def _int(path, where: str, value, lower: int, upper: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lower <= value <= upper:
        raise _fail(path, f"{where} must be an integer in {lower}..{upper}, got {value!r}")
    return value


def _check_version(path, version) -> None:
    match = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", version) if isinstance(version, str) else None
    if not match:
        raise _fail(path, f"'version' {version!r} is not a NAM file version like \"0.5.4\"; not a .nam model file")
    lo, hi = SUPPORTED_VERSIONS
    if not lo <= (int(match[1]), int(match[2])) <= hi:
        raise _fail(path, f"NAM file version {version} is not supported; supported: {SUPPORTED}")


def _activation(path, where: str, value) -> tuple[str, float]:
    """The activation name (a string, or {"type": name, ...} as newer exporters write)."""
    name, slope = value, None
    if isinstance(value, dict):
        name, slope = value.get("type"), value.get("negative_slope")
        extra = set(value) - {"type", "negative_slope"}
        if extra:
            raise _fail(path, f"{where} activation parameter {sorted(extra)[0]!r} is not supported")
    if name not in ACTIVATIONS:
        raise _fail(path, f"{where} activation {name!r} is not supported; supported: {', '.join(ACTIVATIONS)}")
    if slope is not None and (name != "LeakyReLU" or isinstance(slope, bool) or not isinstance(slope, (int, float))
                              or not math.isfinite(slope)):
        raise _fail(path, f"{where} activation {value!r} has an invalid negative_slope")
    return name, DEFAULT_NEGATIVE_SLOPE if slope is None else float(slope)


def _array_config(path, index: int, cfg, previous: dict | None) -> dict:
    where = f"layer array {index}"
    if not isinstance(cfg, dict):
        raise _fail(path, f"{where} is not a JSON object")
    for key, value in cfg.items():
        if key in _ARRAY_KEYS:
            continue
        if _is_neutral(key, value, cfg):
            continue
        raise _fail(path, f"{where}: config key {key!r} ({json.dumps(value)[:40]}) changes the maths and is not "
                          f"supported; supported: {SUPPORTED} {_NOT_YET}")
    for key in _ARRAY_KEYS:
        if key not in cfg:
            raise _fail(path, f"{where} lacks '{key}'; supported: {SUPPORTED}")
    out = {
        "input_size": _int(path, f"{where} input_size", cfg["input_size"], 1, MAX_CHANNELS),
        "condition_size": _int(path, f"{where} condition_size", cfg["condition_size"], 1, 1),
        "head_size": _int(path, f"{where} head_size", cfg["head_size"], 1, MAX_CHANNELS),
        "channels": _int(path, f"{where} channels", cfg["channels"], 1, MAX_CHANNELS),
        "kernel_size": _int(path, f"{where} kernel_size", cfg["kernel_size"], 1, MAX_KERNEL),
    }
    dilations = cfg["dilations"]
    if not isinstance(dilations, list) or not dilations:
        raise _fail(path, f"{where} dilations must be a non-empty list of positive integers")
    out["dilations"] = [_int(path, f"{where} dilation", d, 1, MAX_DILATION) for d in dilations]
    out["activation"], out["slope"] = _activation(path, where, cfg["activation"])
    for key in ("gated", "head_bias"):
        if not isinstance(cfg[key], bool):
            raise _fail(path, f"{where} '{key}' must be true or false, got {cfg[key]!r}")
        out[key] = cfg[key]
    # how arrays chain: the input is the previous array's layer output, the head its head output
    expected_input = 1 if previous is None else previous["channels"]
    if out["input_size"] != expected_input:
        raise _fail(path, f"{where} input_size {out['input_size']} must be {expected_input} "
                          f"({'the mono input' if previous is None else 'the previous array’s channels'})")
    if previous is not None and out["channels"] != previous["head_size"]:
        raise _fail(path, f"{where} channels {out['channels']} must equal the previous array's head_size "
                          f"{previous['head_size']}")
    return out


def _weight_count(cfg: dict) -> int:
    c, conv_c, k, n = cfg["channels"], (2 if cfg["gated"] else 1) * cfg["channels"], cfg["kernel_size"], len(cfg["dilations"])
    per_layer = conv_c * c * k + conv_c + conv_c * cfg["condition_size"] + c * c + c
    head = cfg["head_size"] * c + (cfg["head_size"] if cfg["head_bias"] else 0)
    return c * cfg["input_size"] + n * per_layer + head


def _weights(path, values, expected: int) -> np.ndarray:
    if not isinstance(values, list):
        raise _fail(path, "'weights' must be a list of numbers")
    if len(values) != expected:
        raise _fail(path, f"has {len(values)} weights but its config needs {expected}: "
                          "the file is damaged or the config does not match the weights")
    try:
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
            raise TypeError
        flat = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        bad = next(i for i, v in enumerate(values) if isinstance(v, bool) or not isinstance(v, (int, float)))
        raise _fail(path, f"weight {bad} is not a number ({values[bad]!r}); re-export the model") from None
    if not np.all(np.isfinite(flat)):
        bad = int(np.flatnonzero(~np.isfinite(flat))[0])
        raise _fail(path, f"weight {bad} is {values[bad]!r} (NaN or Infinity): the training diverged; retrain "
                          "or export an earlier checkpoint")
    return flat.astype(np.float32)


def _unpack_array(cfg: dict, flat: np.ndarray, pos: int) -> tuple[NamLayerArray, int]:
    def take(*shape) -> np.ndarray:
        nonlocal pos
        size = int(np.prod(shape))
        out = flat[pos:pos + size].reshape(shape).copy()
        pos += size
        return out

    c, conv_c, k = cfg["channels"], (2 if cfg["gated"] else 1) * cfg["channels"], cfg["kernel_size"]
    rechannel = take(c, cfg["input_size"])
    convs, conv_b, mixins, res, res_b = [], [], [], [], []
    for _ in cfg["dilations"]:
        convs.append(take(conv_c, c, k))
        conv_b.append(take(conv_c))
        mixins.append(take(conv_c, cfg["condition_size"]))
        res.append(take(c, c))
        res_b.append(take(c))
    head_w = take(cfg["head_size"], c)
    head_b = take(cfg["head_size"]) if cfg["head_bias"] else None
    return NamLayerArray(
        input_size=cfg["input_size"], condition_size=cfg["condition_size"], head_size=cfg["head_size"],
        channels=c, kernel_size=k, dilations=cfg["dilations"], activation=cfg["activation"], gated=cfg["gated"],
        rechannel=rechannel, conv_weights=convs, conv_biases=conv_b, mixin_weights=mixins,
        residual_weights=res, residual_biases=res_b, head_weight=head_w, head_bias_values=head_b,
        negative_slope=cfg["slope"]), pos


def parse_nam(doc, path="<model>") -> NamWaveNet:
    """Validate a decoded `.nam` document and return the model (float32 weights)."""
    if not isinstance(doc, dict):
        raise _fail(path, "not a .nam model (top level is not a JSON object)")
    for key in ("version", "architecture", "config", "weights"):
        if key not in doc:
            raise _fail(path, f"missing key '{key}': not a .nam model file")
    _check_version(path, doc["version"])
    arch = doc["architecture"]
    if arch != "WaveNet":
        raise _fail(path, f"architecture {arch!r} is not supported; supported: {SUPPORTED} {_NOT_YET}")
    config = doc["config"]
    if not isinstance(config, dict):
        raise _fail(path, "'config' must be a JSON object")
    for key in config:
        if key not in ("layers", "head", "head_scale"):
            raise _fail(path, f"config key {key!r} changes the maths and is not supported; supported: {SUPPORTED} "
                              f"{_NOT_YET}")
    for key in ("layers", "head_scale"):
        if key not in config:
            raise _fail(path, f"config lacks '{key}': not a classic NAM WaveNet")
    if config.get("head") is not None:
        raise _fail(path, f"a WaveNet 'head' ({json.dumps(config['head'])[:40]}) is not supported; "
                          f"supported: {SUPPORTED} {_NOT_YET}")
    layers = config["layers"]
    if not isinstance(layers, list) or not layers:
        raise _fail(path, "config 'layers' must be a non-empty list of layer arrays")
    cfgs: list[dict] = []
    for i, cfg in enumerate(layers):
        cfgs.append(_array_config(path, i, cfg, cfgs[-1] if cfgs else None))
    if cfgs[-1]["head_size"] != 1:
        raise _fail(path, f"the last layer array's head_size is {cfgs[-1]['head_size']}; a mono model needs 1")
    flat = _weights(path, doc["weights"], sum(_weight_count(c) for c in cfgs) + 1)
    arrays, pos = [], 0
    for cfg in cfgs:
        array, pos = _unpack_array(cfg, flat, pos)
        arrays.append(array)
    sample_rate = doc.get("sample_rate", DEFAULT_SAMPLE_RATE)
    if sample_rate is None:
        sample_rate = DEFAULT_SAMPLE_RATE
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, float)) or not 8000 <= sample_rate <= 384000 \
            or sample_rate != int(sample_rate):
        raise _fail(path, f"'sample_rate' {sample_rate!r} is not a rate in 8000..384000 Hz")
    metadata = doc.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise _fail(path, "'metadata' must be a JSON object or null")
    return NamWaveNet(arrays=arrays, head_scale=float(flat[pos]), sample_rate=int(sample_rate),
                      metadata=metadata, version=doc["version"])


def read_nam(path) -> NamWaveNet:
    """Read and validate a `.nam` file; every problem is one AmpemuError line naming the file."""
    path = Path(path)
    return parse_nam(read_document(path), path)


def to_document(model: NamWaveNet) -> dict:
    """The `.nam` document (NAM 0.5.4-style classic config); refuses shapes and values NAM cannot load."""
    if not model.arrays:
        raise AmpemuError("a NAM WaveNet needs at least one layer array")
    weights: list[float] = []
    for i, array in enumerate(model.arrays):
        expected = _weight_count(array.config())
        params = [np.asarray(p, dtype=np.float32) for p in array.parameters()]
        if sum(p.size for p in params) != expected:
            raise AmpemuError(f"layer array {i}: weight shapes do not match its config "
                              f"({sum(p.size for p in params)} values, {expected} expected)")
        for p in params:
            weights += p.ravel().tolist()
    weights.append(float(np.float32(model.head_scale)))
    if not all(math.isfinite(v) for v in weights):
        raise AmpemuError("model weights contain NaN or Infinity: training diverged; export an earlier checkpoint")
    doc = {
        "version": model.version, "architecture": "WaveNet",
        "config": {"layers": [a.config() for a in model.arrays], "head": None, "head_scale": float(model.head_scale)},
        "weights": weights, "sample_rate": int(model.sample_rate), "metadata": model.metadata,
    }
    parse_nam(doc, "<export>")  # what we write must be what we (and NAM) read
    return doc


def write_nam(model: NamWaveNet, path) -> Path:
    """Write `model` as a `.nam` file atomically (temp file + rename): never half a model on disk."""
    return write_atomically(path, json.dumps(to_document(model), allow_nan=False))
