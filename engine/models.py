"""Load any supported model file into a StreamingModel; the file extension picks the format module."""

from __future__ import annotations

from pathlib import Path

from engine.errors import AmpemuError
from engine.formats import nam, wavenetva_json
from engine.kernels import gated_wavenet, nam_lstm, nam_wavenet
from engine.streaming import StreamingModel

SUPPORTED = (".json (WaveNetVA / PedalNetRT / SmartGuitarPedal / ampemu), "
             ".nam (Neural Amp Modeler WaveNet A1/A2, LSTM, SlimmableContainer)")


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


def nam_lstm_model(model: nam.NamLSTM, fast: bool = False, name: str = "") -> StreamingModel:
    """NAM's convention for an LSTM: half a second of zeros after load and reset."""
    layout, params, state, cursor = nam_lstm.build(model, fast)
    return StreamingModel(layout, params, state, cursor, sample_rate=model.sample_rate, receptive_field=1,
                          prewarm_samples=model.prewarm_samples, name=name or str(model.metadata.get("name") or ""),
                          metadata=model.metadata, description=model.describe())


def check_slim(slim: float | None) -> None:
    if slim is not None and not 0.0 <= slim <= 1.0:
        raise AmpemuError(f"--slim {slim}: the size must be in 0..1 (0 = smallest submodel, 1 = the largest)")


def nam_model(model, fast: bool = False, name: str = "", slim: float | None = None) -> StreamingModel:
    """Any parsed `.nam`. A SlimmableContainer plays the submodel NAM's size rule picks for `slim`
    (None: the last, NAM's default); its description says which."""
    check_slim(slim)
    if isinstance(model, nam.NamContainer):
        index = model.index_for(slim)
        top, sub = model.submodels[index]
        played = nam_model(sub, fast, name or str(model.metadata.get("name") or ""))
        played.description = (f"{model.describe()}, playing submodel {index + 1} (size < {top:g}): "
                              f"{played.description}")
        played.metadata = model.metadata or played.metadata
        return played
    if isinstance(model, nam.NamLSTM):
        return nam_lstm_model(model, fast, name)
    if model.is_slimmable and slim is not None:
        played = nam_wavenet_model(model.slimmed(slim), fast, name)
        played.description = f"{model.describe()}; playing size {slim:g}: {played.description}"
        return played
    return nam_wavenet_model(model, fast, name)


def load_model(path, fast: bool = False, slim: float | None = None) -> StreamingModel:
    """`slim` (0..1) picks a slimmable `.nam` container's submodel (a preset's `slim`, `--slim`);
    other models ignore it."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        return gated_wavenet_model(wavenetva_json.read_model(path), fast, name=path.stem)
    if path.suffix.lower() == ".nam":
        return nam_model(nam.read_nam(path), fast, name=path.stem, slim=slim)
    raise AmpemuError(f"{path}: unknown model format '{path.suffix}'; supported: {SUPPORTED}")
