"""Reading `.nam` files: the JSON document checked key by key into the dataclasses of model.py;
every problem (a broken file, an unsupported feature) is one AmpemuError line naming the file and
the feature."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np

from engine.errors import AmpemuError
from engine.formats.json_file import read_document
from engine.formats.nam.activations import ACTIVATIONS, DEFAULT_NEGATIVE_SLOPE
from engine.formats.nam.model import DEFAULT_SAMPLE_RATE, NamContainer, NamLayerArray, NamLSTM, NamWaveNet
from engine.formats.nam.slim import SLIM_METHOD

SUPPORTED_VERSIONS = ((0, 5), (0, 7))  # inclusive (major, minor) range
MAX_CHANNELS = 512
MAX_KERNEL = 64
MAX_DILATION = 1 << 16
SUPPORTED = "NAM WaveNet (A1 and A2 layer arrays), LSTM and SlimmableContainer, file version 0.5 to 0.7"
ARCHITECTURES = ("WaveNet", "LSTM", "SlimmableContainer")
# keys of an A1 array; A2 arrays replace kernel_size/gated/head_size/head_bias by the keys after them
_ARRAY_KEYS = ("input_size", "condition_size", "channels", "dilations", "activation")
_A2_KEYS = ("kernel_size", "kernel_sizes", "gated", "gating_mode", "secondary_activation", "head_size", "head_bias",
            "head", "bottleneck", "layer1x1", "head1x1", "groups_input", "groups_input_mixin", "slimmable")
_FILMS = ("conv_pre_film", "conv_post_film", "input_mixin_pre_film", "input_mixin_post_film", "activation_pre_film",
          "activation_post_film", "layer1x1_post_film", "head1x1_post_film")


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


def _unsupported(path, where: str, feature: str, key: str, value) -> AmpemuError:
    return _fail(path, f"{where}: {feature} (config key {key!r}: {json.dumps(value)[:40]}) is not supported; "
                       f"supported: {SUPPORTED}")


def _per_layer(path, where: str, key: str, value, n: int, parse) -> list:
    """A per-layer list of n values, or one value for every layer."""
    if isinstance(value, list):
        if len(value) != n:
            raise _fail(path, f"{where} '{key}' has {len(value)} entries for {n} layers (dilations)")
        return [parse(v) for v in value]
    return [parse(value)] * n


def _gating(path, where: str, cfg: dict, n: int) -> list[bool]:
    if "gating_mode" not in cfg:
        if not isinstance(cfg.get("gated", False), bool):
            raise _fail(path, f"{where} 'gated' must be true or false, got {cfg['gated']!r}")
        gated = [cfg.get("gated", False)] * n
    else:
        def mode(v):
            if v == "blended":
                raise _unsupported(path, where, "blended gating", "gating_mode", v)
            if v not in ("none", "gated"):
                raise _fail(path, f"{where} gating_mode {v!r} is not one of none, gated, blended")
            return v == "gated"
        gated = _per_layer(path, where, "gating_mode", cfg["gating_mode"], n, mode)
    secondary = cfg.get("secondary_activation")
    if secondary is not None:
        for i, v in enumerate(_per_layer(path, where, "secondary_activation", secondary, n, lambda v: v)):
            if gated[i] and v is not None and _activation(path, where, v)[0] != "Sigmoid":
                raise _unsupported(path, where, "a gate activation other than Sigmoid", "secondary_activation", v)
    return gated


def _conv_flag(path, where: str, cfg: dict, key: str, default: bool) -> tuple[bool, int | None]:
    """(active, out_channels) of layer1x1/head1x1; grouped convs are refused."""
    value = cfg.get(key)
    if value is None:
        return default, None
    if not isinstance(value, dict) or not isinstance(value.get("active"), bool):
        raise _fail(path, f"{where} '{key}' must be an object with 'active' true or false")
    if value["active"] and value.get("groups", 1) != 1:
        raise _unsupported(path, where, "grouped convs", key, value)
    out = value.get("out_channels")
    return value["active"], None if out is None else _int(path, f"{where} {key} out_channels", out, 1, MAX_CHANNELS)


def _array_config(path, index: int, cfg, previous: dict | None) -> dict:
    where = f"layer array {index}"
    if not isinstance(cfg, dict):
        raise _fail(path, f"{where} is not a JSON object")
    for key, value in cfg.items():
        if key in _FILMS:
            if value is not False and not (isinstance(value, dict) and value.get("active") is False):
                raise _unsupported(path, where, "FiLM", key, value)
        elif key in ("groups_input", "groups_input_mixin"):
            if value != 1:
                raise _unsupported(path, where, "grouped convs", key, value)
        elif key == "slimmable":
            if value is not None and (not isinstance(value, dict) or value.get("method") != SLIM_METHOD):
                raise _unsupported(path, where, "a slimmable method other than " + SLIM_METHOD, key, value)
        elif key not in _ARRAY_KEYS + _A2_KEYS:
            raise _fail(path, f"{where}: config key {key!r} ({json.dumps(value)[:40]}) is not a NAM WaveNet key; "
                              f"supported: {SUPPORTED}")
    for key in _ARRAY_KEYS:
        if key not in cfg:
            raise _fail(path, f"{where} lacks '{key}'; supported: {SUPPORTED}")
    c = _int(path, f"{where} channels", cfg["channels"], 1, MAX_CHANNELS)
    out = {
        "input_size": _int(path, f"{where} input_size", cfg["input_size"], 1, MAX_CHANNELS),
        "condition_size": _int(path, f"{where} condition_size", cfg["condition_size"], 1, MAX_CHANNELS),
        "channels": c,
        "bottleneck": _int(path, f"{where} bottleneck", cfg.get("bottleneck", c), 1, MAX_CHANNELS),
    }
    dilations = cfg["dilations"]
    if not isinstance(dilations, list) or not dilations:
        raise _fail(path, f"{where} dilations must be a non-empty list of positive integers")
    n = len(dilations)
    out["dilations"] = [_int(path, f"{where} dilation", d, 1, MAX_DILATION) for d in dilations]
    if ("kernel_size" in cfg) == ("kernel_sizes" in cfg):
        raise _fail(path, f"{where} needs exactly one of 'kernel_size' and 'kernel_sizes'")
    out["kernel_sizes"] = _per_layer(path, where, "kernel_sizes", cfg.get("kernel_sizes", cfg.get("kernel_size")), n,
                                     lambda v: _int(path, f"{where} kernel size", v, 1, MAX_KERNEL))
    out["activations"] = _per_layer(path, where, "activation", cfg["activation"], n,
                                    lambda v: _activation(path, where, v))
    out["gating"] = _gating(path, where, cfg, n)
    out["layer1x1"], _ = _conv_flag(path, where, cfg, "layer1x1", True)
    head1x1, head1x1_out = _conv_flag(path, where, cfg, "head1x1", False)
    out["head1x1_out"] = (head1x1_out or c) if head1x1 else 0
    if not out["layer1x1"] and out["bottleneck"] != c:
        raise _fail(path, f"{where}: with layer1x1 inactive the bottleneck must equal channels ({c})")
    head = cfg.get("head")
    if head is not None:
        if not isinstance(head, dict) or not {"out_channels", "kernel_size", "bias"} <= set(head) \
                or not isinstance(head["bias"], bool):
            raise _fail(path, f"{where} 'head' must be an object with out_channels, kernel_size and bias (true/false)")
        out["head_size"] = _int(path, f"{where} head out_channels", head["out_channels"], 1, MAX_CHANNELS)
        out["head_kernel"] = _int(path, f"{where} head kernel_size", head["kernel_size"], 1, MAX_KERNEL)
        out["head_bias"] = head["bias"]
    else:
        for key in ("head_size", "head_bias"):
            if key not in cfg:
                raise _fail(path, f"{where} lacks 'head' (or '{key}'); supported: {SUPPORTED}")
        out["head_size"] = _int(path, f"{where} head_size", cfg["head_size"], 1, MAX_CHANNELS)
        if not isinstance(cfg["head_bias"], bool):
            raise _fail(path, f"{where} 'head_bias' must be true or false, got {cfg['head_bias']!r}")
        out["head_bias"], out["head_kernel"] = cfg["head_bias"], 1
    out["a2"] = any(key in cfg for key in ("head", "kernel_sizes")) or isinstance(cfg["activation"], list)
    out["allowed_channels"] = _allowed_channels(path, where, cfg.get("slimmable"), c, out["head_kernel"])
    # how arrays chain: the input is the previous array's layer output, the head its head output
    expected_input = 1 if previous is None else previous["channels"]
    if out["input_size"] != expected_input:
        raise _fail(path, f"{where} input_size {out['input_size']} must be {expected_input} "
                          f"({'the mono input' if previous is None else 'the previous array’s channels'})")
    if previous is not None and out["channels"] != previous["head_size"]:
        raise _fail(path, f"{where} channels {out['channels']} must equal the previous array's head_size "
                          f"{previous['head_size']}")
    if previous is not None and (out["head1x1_out"] or out["bottleneck"]) != previous["head_size"]:
        raise _fail(path, f"{where}: its head accumulator must match the previous array's head_size "
                          f"{previous['head_size']}")
    return out


def _allowed_channels(path, where: str, slimmable, channels: int, head_kernel: int) -> list[int] | None:
    """A slimmable array's channel counts: ascending, the last the full count (default 1..channels)."""
    if slimmable is None:
        return None
    if head_kernel != 1:
        raise _unsupported(path, where, "slimmable channel slicing with a head kernel above 1", "slimmable", slimmable)
    kwargs = slimmable.get("kwargs") or {}
    allowed = kwargs.get("allowed_channels", list(range(1, channels + 1))) if isinstance(kwargs, dict) else None
    if not isinstance(allowed, list) or not allowed or any(isinstance(v, bool) or not isinstance(v, int) or v < 1
                                                           for v in allowed) \
            or any(b <= a for a, b in zip(allowed, allowed[1:])) or allowed[-1] != channels:
        raise _fail(path, f"{where} slimmable allowed_channels {allowed!r} must be ascending positive counts ending "
                          f"at channels ({channels})")
    return allowed


def _weight_count(cfg: dict) -> int:
    c, b, o = cfg["channels"], cfg["bottleneck"], cfg["head1x1_out"]
    total = c * cfg["input_size"]
    for k, gated in zip(cfg["kernel_sizes"], cfg["gating"]):
        bc = 2 * b if gated else b
        total += bc * c * k + bc + bc * cfg["condition_size"]
        total += (c * b + c if cfg["layer1x1"] else 0) + (o * b + o)
    head_in = o or b
    return total + cfg["head_size"] * head_in * cfg["head_kernel"] + (cfg["head_size"] if cfg["head_bias"] else 0)


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


class _Reader:
    """Takes consecutive torch tensors out of a flat weight list."""

    def __init__(self, flat: np.ndarray):
        self.flat, self.pos = flat, 0

    def take(self, *shape) -> np.ndarray:
        size = int(np.prod(shape))
        out = self.flat[self.pos:self.pos + size].reshape(shape).copy()
        self.pos += size
        return out


def _unpack_array(cfg: dict, read: _Reader) -> NamLayerArray:
    c, b, o = cfg["channels"], cfg["bottleneck"], cfg["head1x1_out"]
    rechannel = read.take(c, cfg["input_size"])
    convs, conv_b, mixins, res, res_b, h1, h1_b = [], [], [], [], [], [], []
    for k, gated in zip(cfg["kernel_sizes"], cfg["gating"]):
        bc = 2 * b if gated else b
        convs.append(read.take(bc, c, k))
        conv_b.append(read.take(bc))
        mixins.append(read.take(bc, cfg["condition_size"]))
        if cfg["layer1x1"]:
            res.append(read.take(c, b))
            res_b.append(read.take(c))
        if o:
            h1.append(read.take(o, b))
            h1_b.append(read.take(o))
    head_in, hk = o or b, cfg["head_kernel"]
    head_w = read.take(cfg["head_size"], head_in, hk) if hk > 1 else read.take(cfg["head_size"], head_in)
    head_b = read.take(cfg["head_size"]) if cfg["head_bias"] else None
    return NamLayerArray(
        input_size=cfg["input_size"], condition_size=cfg["condition_size"], head_size=cfg["head_size"],
        channels=c, dilations=cfg["dilations"], kernel_sizes=cfg["kernel_sizes"], activations=cfg["activations"],
        gating=cfg["gating"], rechannel=rechannel, conv_weights=convs, conv_biases=conv_b, mixin_weights=mixins,
        residual_weights=res, residual_biases=res_b, head_weight=head_w, head_bias_values=head_b,
        bottleneck=None if b == c else b, layer1x1=cfg["layer1x1"],
        head1x1_weights=h1 or None, head1x1_biases=h1_b or None, head_kernel_size=hk, a2=cfg["a2"],
        allowed_channels=cfg["allowed_channels"])


def _sample_rate(path, doc: dict) -> int:
    sample_rate = doc.get("sample_rate", DEFAULT_SAMPLE_RATE)
    if sample_rate is None:
        sample_rate = DEFAULT_SAMPLE_RATE
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, float)) or not 8000 <= sample_rate <= 384000 \
            or sample_rate != int(sample_rate):
        raise _fail(path, f"'sample_rate' {sample_rate!r} is not a rate in 8000..384000 Hz")
    return int(sample_rate)


def _metadata(path, doc: dict) -> dict:
    metadata = doc.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise _fail(path, "'metadata' must be a JSON object or null")
    return metadata


def _parse_wavenet(doc: dict, config: dict, path, outputs: int | None = 1) -> NamWaveNet:
    for key, value in config.items():
        if key == "head" and value is not None:
            raise _unsupported(path, "config", "a post-stack head", key, value)
        if key == "in_channels" and value != 1:
            raise _fail(path, f"config 'in_channels' {value!r}: only mono-input models are supported")
        if key not in ("layers", "head", "head_scale", "condition_dsp", "in_channels"):
            raise _fail(path, f"config key {key!r} is not a NAM WaveNet key; supported: {SUPPORTED}")
    for key in ("layers", "head_scale"):
        if key not in config:
            raise _fail(path, f"config lacks '{key}': not a NAM WaveNet")
    layers = config["layers"]
    if not isinstance(layers, list) or not layers:
        raise _fail(path, "config 'layers' must be a non-empty list of layer arrays")
    cfgs: list[dict] = []
    for i, cfg in enumerate(layers):
        cfgs.append(_array_config(path, i, cfg, cfgs[-1] if cfgs else None))
    if outputs is not None and cfgs[-1]["head_size"] != outputs:
        raise _fail(path, f"the last layer array's head_size is {cfgs[-1]['head_size']}; a mono model needs 1")
    condition = _condition_dsp(config.get("condition_dsp"), path)
    conditions = condition.arrays[-1].head_size if condition else 1
    for i, cfg in enumerate(cfgs):
        if cfg["condition_size"] != conditions:
            raise _fail(path, f"layer array {i} condition_size {cfg['condition_size']} must be {conditions} "
                              f"({'the condition_dsp outputs' if condition else 'the mono input'})")
    read = _Reader(_weights(path, doc["weights"], sum(_weight_count(c) for c in cfgs) + 1))
    arrays = [_unpack_array(cfg, read) for cfg in cfgs]
    return NamWaveNet(arrays=arrays, head_scale=float(read.take(1)[0]), sample_rate=_sample_rate(path, doc),
                      metadata=_metadata(path, doc), version=doc["version"], condition_dsp=condition)


def _condition_dsp(value, path) -> NamWaveNet | None:
    """A WaveNet run on the input whose (multi-channel) output conditions every layer (Core's condition_dsp)."""
    if value is None:
        return None
    where = f"{path} (condition_dsp)"
    if not isinstance(value, dict) or value.get("architecture") != "WaveNet":
        raise _unsupported(path, "config", "a condition_dsp other than a WaveNet", "condition_dsp", value)
    for key in ("version", "config", "weights"):
        if key not in value:
            raise _fail(where, f"missing key '{key}'")
    _check_version(where, value["version"])
    if not isinstance(value["config"], dict):
        raise _fail(where, "'config' must be a JSON object")
    if value["config"].get("condition_dsp") is not None:
        raise _unsupported(path, "config", "a nested condition_dsp", "condition_dsp", value["config"]["condition_dsp"])
    return _parse_wavenet(value, value["config"], where, outputs=None)


def _parse_lstm(doc: dict, config: dict, path) -> NamLSTM:
    for key in config:
        if key not in ("input_size", "hidden_size", "num_layers"):
            raise _fail(path, f"LSTM config key {key!r} is not supported; supported: input_size, hidden_size, "
                              "num_layers")
    for key in ("input_size", "hidden_size", "num_layers"):
        if key not in config:
            raise _fail(path, f"LSTM config lacks '{key}'")
    n_in = _int(path, "LSTM input_size", config["input_size"], 1, 1)
    hidden = _int(path, "LSTM hidden_size", config["hidden_size"], 1, MAX_CHANNELS)
    layers = _int(path, "LSTM num_layers", config["num_layers"], 1, 64)
    count = sum(4 * hidden * ((n_in if i == 0 else hidden) + hidden) + 6 * hidden for i in range(layers)) + hidden + 1
    read = _Reader(_weights(path, doc["weights"], count))
    w, b, h0, c0 = [], [], [], []
    for i in range(layers):
        w.append(read.take(4 * hidden, (n_in if i == 0 else hidden) + hidden))
        b.append(read.take(4 * hidden))
        h0.append(read.take(hidden))
        c0.append(read.take(hidden))
    head_w = read.take(hidden)
    return NamLSTM(input_size=n_in, hidden_size=hidden, w=w, b=b, h0=h0, c0=c0, head_weight=head_w,
                   head_bias=float(read.take(1)[0]), sample_rate=_sample_rate(path, doc),
                   metadata=_metadata(path, doc), version=doc["version"])


def _parse_container(doc: dict, config: dict, path) -> NamContainer:
    submodels = config.get("submodels")
    if not isinstance(submodels, list) or not submodels:
        raise _fail(path, "SlimmableContainer 'submodels' must be a non-empty list of {max_value, model}")
    out: list[tuple[float, NamWaveNet | NamLSTM]] = []
    for i, entry in enumerate(submodels):
        if not isinstance(entry, dict) or set(entry) != {"max_value", "model"}:
            raise _fail(path, f"SlimmableContainer submodel {i} must be an object with max_value and model")
        top = entry["max_value"]
        if isinstance(top, bool) or not isinstance(top, (int, float)) or not math.isfinite(top):
            raise _fail(path, f"SlimmableContainer submodel {i} max_value {top!r} is not a number")
        if out and top <= out[-1][0]:
            raise _fail(path, f"SlimmableContainer submodels must be sorted by increasing max_value "
                              f"(submodel {i}: {top} after {out[-1][0]})")
        model = parse_nam(entry["model"], f"{path} (submodel {i})")
        if isinstance(model, NamContainer):
            raise _fail(path, f"SlimmableContainer submodel {i} is itself a container; not supported")
        out.append((float(top), model))
    rates = {m.sample_rate for _, m in out}
    if len(rates) > 1:
        raise _fail(path, f"SlimmableContainer submodels have different sample rates {sorted(rates)}")
    return NamContainer(submodels=out, sample_rate=rates.pop(), metadata=_metadata(path, doc), version=doc["version"])


def parse_nam(doc, path="<model>") -> NamWaveNet | NamLSTM | NamContainer:
    """Validate a decoded `.nam` document and return the model (float32 weights)."""
    if not isinstance(doc, dict):
        raise _fail(path, "not a .nam model (top level is not a JSON object)")
    for key in ("version", "architecture", "config", "weights"):
        if key not in doc:
            raise _fail(path, f"missing key '{key}': not a .nam model file")
    _check_version(path, doc["version"])
    arch = doc["architecture"]
    if arch not in ARCHITECTURES:
        raise _fail(path, f"architecture {arch!r} is not supported; supported: {SUPPORTED}")
    config = doc["config"]
    if not isinstance(config, dict):
        raise _fail(path, "'config' must be a JSON object")
    parse = {"WaveNet": _parse_wavenet, "LSTM": _parse_lstm, "SlimmableContainer": _parse_container}[arch]
    return parse(doc, config, path)


def read_nam(path) -> NamWaveNet | NamLSTM | NamContainer:
    """Read and validate a `.nam` file; every problem is one AmpemuError line naming the file."""
    path = Path(path)
    return parse_nam(read_document(path), path)
