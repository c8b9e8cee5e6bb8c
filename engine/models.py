"""Load any model file the numba kernels play into a StreamingModel, and the built-in families that
play on them (registered in engine/families.py: gated WaveNet, NAM WaveNet, NAM LSTM, NAM container).
"""

from __future__ import annotations

import math
from pathlib import Path

from engine import families
from engine.errors import AmpemuError
from engine.families import Family, Needs, register
from engine.formats import nam, wavenetva_json
from engine.kernels import gated_wavenet, nam_lstm, nam_wavenet
from engine.slim import check_slim
from engine.streaming import StreamingModel


def gated_wavenet_model(weights: wavenetva_json.GatedWaveNetWeights, fast: bool = False, name: str = "") -> StreamingModel:
    layout, params, state, cursor = gated_wavenet.build(weights, fast)
    return StreamingModel(layout, params, state, cursor, sample_rate=weights.sample_rate,
                          receptive_field=weights.receptive_field, output_gain_db=weights.level_adjust_db,
                          name=name, metadata=weights.metadata,
                          description=f"gated WaveNet, {weights.channels} channels, kernel {weights.kernel_size}, "
                                      f"{len(weights.dilations)} layers")


def nam_wavenet_model(model: nam.NamWaveNet, fast: bool = False, name: str = "") -> StreamingModel:
    """NAM's convention: after load and reset, a receptive field of zeros settles the state."""
    layout, params, state, cursor = nam_wavenet.build(model, fast)
    return StreamingModel(layout, params, state, cursor, sample_rate=model.sample_rate,
                          receptive_field=model.receptive_field, prewarm_samples=model.receptive_field,
                          name=name or str(model.metadata.get("name") or ""), metadata=model.metadata,
                          description=model.describe())


def _gated_wavenet_needs(w: wavenetva_json.GatedWaveNetWeights) -> Needs:
    history = sum((w.kernel_size - 1) * d + gated_wavenet.CHUNK for d in w.dilations)
    return Needs(w.sample_rate, w.receptive_field, 0, w.channels * history, w.macs_per_sample)


def _nam_wavenet_needs(model: nam.NamWaveNet) -> Needs:
    return Needs(model.sample_rate, model.receptive_field, model.receptive_field, _nam_state_floats(model),
                 model.macs_per_sample)


def _nam_state_floats(model: nam.NamWaveNet) -> int:
    """History buffers the kernel allocates; scratch left out."""
    return nam_wavenet.history_floats(model)


def nam_lstm_model(model: nam.NamLSTM, fast: bool = False, name: str = "") -> StreamingModel:
    """NAM's convention for an LSTM: half a second of zeros after load and reset."""
    layout, params, state, cursor = nam_lstm.build(model, fast)
    return StreamingModel(layout, params, state, cursor, sample_rate=model.sample_rate, receptive_field=1,
                          prewarm_samples=model.prewarm_samples, name=name or str(model.metadata.get("name") or ""),
                          metadata=model.metadata, description=model.describe())


def _slimmable_wavenet_model(model: nam.NamWaveNet, fast: bool, name: str, slim: float | None) -> StreamingModel:
    if not (model.is_slimmable and slim is not None):
        return nam_wavenet_model(model, fast, name)
    played = nam_wavenet_model(model.slimmed(slim), fast, name)
    played.description = f"{model.describe()}; playing size {slim:g}: {played.description}"
    return played


def _container_model(model: nam.NamContainer, fast: bool, name: str, slim: float | None) -> StreamingModel:
    """The submodel NAM's size rule picks for `slim` (None: the last, NAM's default); the description says which."""
    index = model.index_for(slim)
    top, sub = model.submodels[index]
    played = nam_model(sub, fast, name or str(model.metadata.get("name") or ""))
    played.description = f"{model.describe()}, playing submodel {index + 1} (size < {top:g}): {played.description}"
    played.metadata = model.metadata or played.metadata
    return played


def _wavenet_sizes(model: nam.NamWaveNet) -> list[float]:
    if not model.is_slimmable:
        return []
    steps = max(len(a.allowed_channels) for a in model.arrays if a.allowed_channels)
    return [i / steps for i in reversed(range(steps))]


def _container_sizes(model: nam.NamContainer) -> list[float]:
    """The lowest size that picks each submodel: 0 for the first, the previous max_value for the rest."""
    return sorted({0.0, *(top for top, _ in model.submodels[:-1])}, reverse=True)


# NAM 0.13's default container (docs/training.md): its two submodels by the names its trainer gives them
NAM_A2_SIZES = {3: "A2-Lite", 8: "A2-Full"}


def _channels(model) -> str:
    return "/".join(str(a.channels) for a in model.arrays)


def _wavenet_size_name(model: nam.NamWaveNet, size: float) -> str | None:
    return f"{_channels(model.slimmed(size))} channels" if model.is_slimmable else None


def _container_size_name(model: nam.NamContainer, size: float) -> str:
    """A submodel's own name (its metadata), NAM's A2-Lite / A2-Full, else its place and width."""
    index = model.index_for(size)
    sub = model.submodels[index][1]
    if sub.metadata.get("name"):
        return str(sub.metadata["name"])
    if isinstance(sub, nam.NamWaveNet):
        if len(sub.arrays) == 1 and sub.arrays[0].a2 and sub.arrays[0].channels in NAM_A2_SIZES:
            return NAM_A2_SIZES[sub.arrays[0].channels]
        return f"submodel {index + 1} of {len(model.submodels)}, {_channels(sub)} channels"
    return f"submodel {index + 1} of {len(model.submodels)}, {sub.describe()}"


_NAM_FILES = "Neural Amp Modeler"
register(Family("gated_wavenet", "gated WaveNet", ".json", "WaveNetVA / PedalNetRT / SmartGuitarPedal / ampemu",
                wavenetva_json.GatedWaveNetWeights, wavenetva_json.read_model,
                lambda m, fast, name, slim: gated_wavenet_model(m, fast, name),
                kernel=gated_wavenet.FAMILY, exporter="json", needs=_gated_wavenet_needs))
register(Family("nam_wavenet", "NAM WaveNet", ".nam", f"{_NAM_FILES} WaveNet A1/A2", nam.NamWaveNet, nam.read_nam,
                _slimmable_wavenet_model, kernel=nam_wavenet.FAMILY, sizes=_wavenet_sizes,
                slimmed=lambda m, size: m.slimmed(size) if m.is_slimmable else m, exporter="nam",
                needs=_nam_wavenet_needs, size_name=_wavenet_size_name))
register(Family("nam_lstm", "NAM LSTM", ".nam", "LSTM", nam.NamLSTM, nam.read_nam,
                lambda m, fast, name, slim: nam_lstm_model(m, fast, name), kernel=nam_lstm.FAMILY,
                needs=lambda m: Needs(m.sample_rate, 1, m.prewarm_samples, 0, m.macs_per_sample)))
register(Family("nam_container", "NAM SlimmableContainer", ".nam", "SlimmableContainer", nam.NamContainer,
                nam.read_nam, _container_model, sizes=_container_sizes,
                slimmed=lambda m, size: m.submodels[m.index_for(size)][1], exporter="nam",
                size_name=_container_size_name))


def nam_model(model, fast: bool = False, name: str = "", slim: float | None = None) -> StreamingModel:
    """Any parsed `.nam` (or other parsed model), played by its family at size `slim`."""
    check_slim(slim)
    return families.of_model(model).load(model, fast, name, slim)


def load_model(path, fast: bool = False, slim: float | None = None) -> StreamingModel:
    """`slim` (0..1) picks a slimmable `.nam`'s size (a preset's `slim`, `--slim`); other models ignore it."""
    path = Path(path)
    check_slim(slim)
    if path.suffix.lower() not in families.suffixes("numba"):
        raise AmpemuError(f"{path}: unknown model format '{path.suffix}'; supported: {families.supported('numba')}")
    family, parsed = families.read(path)
    try:
        model = family.load(parsed, fast, path.stem, slim)
    except families.BeyondLimits as exc:
        raise AmpemuError(f"{path}: {exc}") from None
    check_finite(model, path)
    return model


def check_finite(model: StreamingModel, path) -> None:
    """Refuse a model whose output on the standard phrase is not finite (weights that overflow);
    the level measured on the way is kept for level matching."""
    from engine.presets.loudness import loudness_db  # the standard phrase lives with level matching

    level = loudness_db(model)
    if not math.isfinite(level):
        raise AmpemuError(f"{path}: the model's output on a guitar phrase is NaN or infinite (its weights overflow "
                          "float32); retrain or export an earlier checkpoint")
    model.level_db = level
