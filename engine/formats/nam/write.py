"""Writing `.nam` files: a NamWaveNet (A1 arrays in the classic config, A2 arrays in NAM 0.13's full
form), a NamLSTM, or a NamContainer of WaveNets, as the document NeuralAmpModelerCore loads, checked
by reading it back with parse.py before it is written."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from engine.atomic import write_atomically
from engine.errors import AmpemuError
from engine.formats.nam.activations import DEFAULT_NEGATIVE_SLOPE
from engine.formats.nam.model import NamContainer, NamLayerArray, NamLSTM, NamWaveNet
from engine.formats.nam.parse import (_array_config, _check_version, _parse_container, _parse_lstm, _parse_wavenet,
                                     _weight_count)
from engine.formats.nam.slim import SLIM_METHOD


def array_config(a: NamLayerArray) -> dict:
    """A layer array's `config.layers` entry, in the form it was read in (A1 only when every layer agrees)."""
    out = _a1_config(a) if not a.a2 and a.uniform else _a2_config(a)
    if a.allowed_channels:
        out["slimmable"] = {"method": SLIM_METHOD, "kwargs": {"allowed_channels": list(a.allowed_channels)}}
    return out


def _a1_config(a: NamLayerArray) -> dict:
    return {"input_size": a.input_size, "condition_size": a.condition_size, "head_size": a.head_size,
            "channels": a.channels, "kernel_size": a.kernel_sizes[0], "dilations": list(a.dilations),
            "activation": _activation_config(*a.activations[0]), "gated": bool(a.gating[0]),
            "head_bias": a.head_bias}


# the features NAM 0.13 writes switched off in every A2 array (we neither train nor play them)
_INACTIVE_FILM = {"active": False, "shift": True, "groups": 1}
_FILMS = ("conv_pre_film", "conv_post_film", "input_mixin_pre_film", "input_mixin_post_film", "activation_pre_film",
          "activation_post_film", "layer1x1_post_film", "head1x1_post_film")


def _a2_config(a: NamLayerArray) -> dict:
    """NAM 0.13's A2 array, every key it writes (same keys and order as its exports)."""
    return {"input_size": a.input_size, "condition_size": a.condition_size,
            "head": {"out_channels": a.head_size, "kernel_size": a.head_kernel_size, "bias": a.head_bias},
            "channels": a.channels, "kernel_sizes": list(a.kernel_sizes), "dilations": list(a.dilations),
            "activation": [_a2_activation(*act) for act in a.activations], "bottleneck": a.inner_channels,
            "head1x1": {"active": bool(a.head1x1_weights),
                        "out_channels": a.head_in if a.head1x1_weights else a.head_size, "groups": 1},
            "layer1x1": {"active": a.layer1x1, "groups": 1}, "groups_input": 1, "groups_input_mixin": 1,
            **{film: dict(_INACTIVE_FILM) for film in _FILMS},
            "gating_mode": ["gated" if gated else "none" for gated in a.gating],
            "secondary_activation": ["Sigmoid" if gated else None for gated in a.gating], "slimmable": None}


def _a2_activation(name: str, slope: float) -> dict:
    return {"type": name, "negative_slope": float(slope)} if name == "LeakyReLU" else {"type": name}


def _activation_config(name: str, slope: float):
    if name == "LeakyReLU" and slope != DEFAULT_NEGATIVE_SLOPE:
        return {"type": "LeakyReLU", "negative_slope": float(slope)}
    return name


def to_document(model: NamWaveNet, outputs: int | None = 1) -> dict:
    """The `.nam` document (A1 arrays in the classic config, A2 arrays in theirs); refuses shapes and values NAM cannot load."""
    if not isinstance(model, NamWaveNet):
        raise AmpemuError(f"only NAM WaveNets are written, not {type(model).__name__}")
    if not model.arrays:
        raise AmpemuError("a NAM WaveNet needs at least one layer array")
    weights: list[float] = []
    previous = None
    for i, array in enumerate(model.arrays):
        previous = _array_config("<export>", i, array_config(array), previous)
        expected = _weight_count(previous)
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
        "config": {"layers": [array_config(a) for a in model.arrays], "head": None, "head_scale": float(model.head_scale),
                   **({"condition_dsp": to_document(model.condition_dsp, None)} if model.condition_dsp else {})},
        "weights": weights, "sample_rate": int(model.sample_rate), "metadata": model.metadata,
    }
    _check_version("<export>", doc["version"])
    _parse_wavenet(doc, doc["config"], "<export>", outputs)  # what we write must be what we (and NAM) read
    return doc


def lstm_document(model: NamLSTM) -> dict:
    """The `.nam` document of an LSTM: per layer W (4H, in + H) row-major, b, h0, c0; then the head."""
    parts = [p for layer in zip(model.w, model.b, model.h0, model.c0) for p in layer]
    weights = [float(v) for p in (*parts, model.head_weight, [model.head_bias]) for v in np.asarray(p, np.float32).ravel()]
    if not all(math.isfinite(v) for v in weights):
        raise AmpemuError("model weights contain NaN or Infinity: training diverged; export an earlier checkpoint")
    doc = {"version": model.version, "architecture": "LSTM",
           "config": {"input_size": model.input_size, "hidden_size": model.hidden_size, "num_layers": model.num_layers},
           "weights": weights, "sample_rate": int(model.sample_rate), "metadata": model.metadata}
    _check_version("<export>", doc["version"])
    _parse_lstm(doc, doc["config"], "<export>")
    return doc


def container_document(container: NamContainer) -> dict:
    """A SlimmableContainer document of WaveNets (NAM 0.13's layout: the submodels under config, no weights)."""
    if not all(isinstance(m, NamWaveNet) for _, m in container.submodels):
        raise AmpemuError("only containers of NAM WaveNets are written")
    doc = {"version": container.version, "metadata": container.metadata, "architecture": "SlimmableContainer",
           "config": {"submodels": [{"max_value": float(top), "model": to_document(m)}
                                    for top, m in container.submodels]},
           "weights": [], "sample_rate": int(container.sample_rate)}
    _check_version("<export>", doc["version"])
    _parse_container(doc, doc["config"], "<export>")
    return doc


def write_nam(model: NamWaveNet | NamLSTM | NamContainer, path) -> Path:
    """Write `model` as a `.nam` file atomically (temp file + rename): never half a model on disk."""
    doc = (container_document(model) if isinstance(model, NamContainer)
           else lstm_document(model) if isinstance(model, NamLSTM) else to_document(model))
    return write_atomically(path, json.dumps(doc, allow_nan=False))
