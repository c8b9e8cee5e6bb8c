"""The WaveNetVA `.json` model format (PedalNetRT, WaveNetVA, SmartGuitarPedal, the seed project).

This module is the only place that knows the file layout; training exports through `write_model`.

Layout: keys `activation` ("gated"), `input_channels` (1), `output_channels` (1),
`residual_channels` C, `filter_width` K, `dilations` (one per layer) and `variables`, a list of
`{layer_idx, name, data}`: layer -1 holds the input 1x1 conv (`W`: C, `b`: C); layer l holds the
dilated conv (`W_conv`: K*C*2C, `b_conv`: 2C) and the residual 1x1 (`W_out`: C*C, `b_out`: C);
layer L holds the linear mix over the concatenated skips (`W`: L*C, `b`: 1). A weight of torch shape
(out, in, k) is stored as `w.permute(2, 1, 0).flatten()`: flat[(k*in + i)*out + o] = w[o, i, k].
`data` items may be JSON numbers or strings holding numbers. Extra keys we write and read:
`sample_rate` (absent means 44100), `level_adjust` (an output gain in dB some plugins apply) and
`metadata` (free-form object). Plugins ignore keys they do not know.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.atomic import write_atomically
from engine.errors import AmpemuError
from engine.formats.json_file import read_document

DEFAULT_SAMPLE_RATE = 44100
MAX_DILATION = 1 << 16
MAX_CHANNELS = 512
MAX_KERNEL = 64
MAX_LEVEL_DB = 60  # an output gain beyond this is a broken file, not a level


@dataclass
class GatedWaveNetWeights:
    """A gated WaveNet in torch layouts (what training produces and the kernel consumes).

    input_weight (C,), input_bias (C,): the input 1x1 conv, 1 -> C.
    conv_weights[l] (2C, C, K), conv_biases[l] (2C,): causal dilated conv; tap k reads
        the sample (K-1-k)*dilation steps back (torch's Conv1d with left padding).
    residual_weights[l] (C, C) as (out, in), residual_biases[l] (C,).
    mix_weight (L*C,), mix_bias (scalar): linear mix over the concatenated gated outputs.
    """

    channels: int
    kernel_size: int
    dilations: list[int]
    input_weight: np.ndarray
    input_bias: np.ndarray
    conv_weights: list[np.ndarray]
    conv_biases: list[np.ndarray]
    residual_weights: list[np.ndarray]
    residual_biases: list[np.ndarray]
    mix_weight: np.ndarray
    mix_bias: float
    sample_rate: int = DEFAULT_SAMPLE_RATE
    level_adjust_db: float = 0.0
    metadata: dict = field(default_factory=dict)

    @property
    def receptive_field(self) -> int:
        return 1 + (self.kernel_size - 1) * sum(self.dilations)

    @property
    def macs_per_sample(self) -> int:
        """Multiply-accumulates per sample: input 1x1, per layer dilated conv C -> 2C and residual
        1x1 C -> C, mix C -> 1 (the cost `ampemu info` and `bench` print)."""
        c, k, layers = self.channels, self.kernel_size, len(self.dilations)
        return c + layers * (k * c * 2 * c + c * c + c)

    @property
    def activations_per_sample(self) -> int:
        return 2 * self.channels * len(self.dilations)  # tanh and sigmoid per channel


def _fail(path, what: str) -> AmpemuError:
    return AmpemuError(f"{path}: {what}")


def _as_number_list(path, name: str, data) -> np.ndarray:
    if not isinstance(data, list):
        raise _fail(path, f"variable {name} has no data list; re-export the model")
    values = np.empty(len(data), dtype=np.float64)
    for i, item in enumerate(data):
        if isinstance(item, bool) or not isinstance(item, (int, float, str)):
            raise _fail(path, f"variable {name}[{i}] is not a number ({item!r}); re-export the model")
        try:
            values[i] = float(item)
        except ValueError:
            raise _fail(path, f"variable {name}[{i}] is not a number ({item!r}); re-export the model") from None
    if not np.all(np.isfinite(values)):
        bad = int(np.flatnonzero(~np.isfinite(values))[0])
        raise _fail(path, f"variable {name}[{bad}] is {data[bad]!r} (NaN or Infinity): the training diverged; "
                          "retrain or pick an earlier checkpoint")
    return values


def _positive_int(path, doc: dict, key: str, upper: int) -> int:
    value = doc.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= upper:
        raise _fail(path, f"'{key}' must be an integer in 1..{upper}, got {value!r}")
    return value


def parse_model(doc, path="<model>") -> GatedWaveNetWeights:
    """Validate a decoded WaveNetVA document and return its weights (float32)."""
    if not isinstance(doc, dict):
        raise _fail(path, "not a WaveNetVA model (top level is not a JSON object)")
    for key in ("activation", "residual_channels", "filter_width", "dilations", "variables"):
        if key not in doc:
            raise _fail(path, f"missing key '{key}': not a WaveNetVA/PedalNetRT .json model")
    if doc["activation"] != "gated":
        raise _fail(path, f"unknown activation {doc['activation']!r}; only 'gated' is supported")
    if doc.get("input_channels", 1) == 2:
        raise _fail(path, "input_channels 2 (a knob-conditioned SmartGuitarPedal model) is not supported; "
                          "use a 1-input model")
    for key in ("input_channels", "output_channels"):
        if doc.get(key, 1) != 1:
            raise _fail(path, f"'{key}' is {doc[key]!r}; only mono models (1) are supported")
    channels = _positive_int(path, doc, "residual_channels", MAX_CHANNELS)
    kernel = _positive_int(path, doc, "filter_width", MAX_KERNEL)
    dilations = doc["dilations"]
    if not isinstance(dilations, list) or not dilations:
        raise _fail(path, "'dilations' must be a non-empty list of positive integers")
    for d in dilations:
        if isinstance(d, bool) or not isinstance(d, int) or not 0 < d <= MAX_DILATION:
            raise _fail(path, f"dilation {d!r} is not an integer in 1..{MAX_DILATION}")
    n_layers = len(dilations)
    expected = {(-1, "W"): channels, (-1, "b"): channels, (n_layers, "W"): n_layers * channels,
                (n_layers, "b"): 1}
    for layer in range(n_layers):
        expected.update({(layer, "W_conv"): kernel * channels * 2 * channels, (layer, "b_conv"): 2 * channels,
                         (layer, "W_out"): channels * channels, (layer, "b_out"): channels})
    variables = doc["variables"]
    if not isinstance(variables, list):
        raise _fail(path, "'variables' must be a list")
    found: dict[tuple[int, str], np.ndarray] = {}
    for var in variables:
        if not isinstance(var, dict) or not {"layer_idx", "name", "data"} <= var.keys():
            raise _fail(path, "a variable lacks layer_idx, name or data; re-export the model")
        if isinstance(var["layer_idx"], bool) or not isinstance(var["layer_idx"], int) \
                or not isinstance(var["name"], str):
            raise _fail(path, f"a variable's layer_idx {var['layer_idx']!r} / name {var['name']!r} is not an "
                              "integer / a string; re-export the model")
        key = (var["layer_idx"], var["name"])
        label = f"{key[1]} of layer {key[0]}"
        if key not in expected:
            raise _fail(path, f"unexpected variable {label} for {n_layers} layers")
        if key in found:
            raise _fail(path, f"variable {label} appears twice")
        values = _as_number_list(path, label, var["data"])
        if values.size != expected[key]:
            raise _fail(path, f"variable {label} has {values.size} values, expected {expected[key]} "
                              f"(channels {channels}, kernel {kernel})")
        found[key] = values.astype(np.float32)
    missing = [k for k in expected if k not in found]
    if missing:
        layer, name = missing[0]
        raise _fail(path, f"missing variable {name} of layer {layer} (file truncated or not exported fully)")

    def unflatten(flat: np.ndarray, out_ch: int, in_ch: int, taps: int) -> np.ndarray:
        return np.ascontiguousarray(flat.reshape(taps, in_ch, out_ch).transpose(2, 1, 0))

    sample_rate = doc.get("sample_rate", DEFAULT_SAMPLE_RATE)
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, float)) or not 8000 <= sample_rate <= 384000:
        raise _fail(path, f"'sample_rate' {sample_rate!r} is not a rate in 8000..384000 Hz")
    level = doc.get("level_adjust", 0.0)
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not -MAX_LEVEL_DB <= level <= MAX_LEVEL_DB:
        raise _fail(path, f"'level_adjust' {level!r} is not a gain in -{MAX_LEVEL_DB}..{MAX_LEVEL_DB} dB")
    metadata = doc.get("metadata", {})
    if not isinstance(metadata, dict):
        raise _fail(path, "'metadata' must be a JSON object")
    return GatedWaveNetWeights(
        channels=channels, kernel_size=kernel, dilations=list(dilations),
        input_weight=found[(-1, "W")], input_bias=found[(-1, "b")],
        conv_weights=[unflatten(found[(l, "W_conv")], 2 * channels, channels, kernel) for l in range(n_layers)],
        conv_biases=[found[(l, "b_conv")] for l in range(n_layers)],
        residual_weights=[unflatten(found[(l, "W_out")], channels, channels, 1)[:, :, 0] for l in range(n_layers)],
        residual_biases=[found[(l, "b_out")] for l in range(n_layers)],
        mix_weight=found[(n_layers, "W")], mix_bias=float(found[(n_layers, "b")][0]),
        sample_rate=int(sample_rate), level_adjust_db=float(level), metadata=metadata)


def read_model(path) -> GatedWaveNetWeights:
    """Read and validate a `.json` model file; every problem is one AmpemuError line."""
    path = Path(path)
    return parse_model(read_document(path), path)


def _flat(weight: np.ndarray) -> list[float]:
    """torch (out, in, k) -> WaveNetVA's flat order; float32 values as shortest round-trip floats."""
    w = np.asarray(weight, dtype=np.float32)
    if w.ndim == 2:
        w = w[:, :, None]
    return [float(v) for v in w.transpose(2, 1, 0).ravel()]


def _vector(values) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype=np.float32).ravel()]


def to_document(model: GatedWaveNetWeights) -> dict:
    """The JSON document for `model`; refuses NaN/Infinity instead of writing an unloadable file."""
    parts = [model.input_weight, model.input_bias, model.mix_weight, [model.mix_bias],
             *model.conv_weights, *model.conv_biases, *model.residual_weights, *model.residual_biases]
    if not all(np.all(np.isfinite(np.asarray(p, dtype=np.float64))) for p in parts):
        raise AmpemuError("model weights contain NaN or Infinity: training diverged; export an earlier checkpoint")
    c, n_layers = model.channels, len(model.dilations)
    variables = [
        {"layer_idx": -1, "name": "W", "data": _flat(np.reshape(model.input_weight, (c, 1)))},
        {"layer_idx": -1, "name": "b", "data": _vector(model.input_bias)},
    ]
    for layer in range(n_layers):
        variables += [
            {"layer_idx": layer, "name": "W_conv", "data": _flat(model.conv_weights[layer])},
            {"layer_idx": layer, "name": "b_conv", "data": _vector(model.conv_biases[layer])},
            {"layer_idx": layer, "name": "W_out", "data": _flat(model.residual_weights[layer])},
            {"layer_idx": layer, "name": "b_out", "data": _vector(model.residual_biases[layer])},
        ]
    variables += [
        {"layer_idx": n_layers, "name": "W", "data": _flat(np.reshape(model.mix_weight, (1, n_layers * c)))},
        {"layer_idx": n_layers, "name": "b", "data": _vector([model.mix_bias])},
    ]
    return {
        "activation": "gated", "output_channels": 1, "input_channels": 1,
        "residual_channels": c, "filter_width": model.kernel_size, "dilations": list(model.dilations),
        "sample_rate": int(model.sample_rate), "level_adjust": float(model.level_adjust_db),
        "metadata": model.metadata, "variables": variables,
    }


def write_model(model: GatedWaveNetWeights, path) -> Path:
    """Write atomically (temp file + rename) so an interrupted export never leaves half a model."""
    return write_atomically(path, json.dumps(to_document(model), allow_nan=False))
