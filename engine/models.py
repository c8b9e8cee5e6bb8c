"""Load any supported model file into a StreamingModel; the file extension picks the format module."""

from __future__ import annotations

from pathlib import Path

from engine.errors import AmpemuError
from engine.formats import nam, wavenetva_json
from engine.kernels import gated_wavenet, nam_wavenet
from engine.streaming import StreamingModel

SUPPORTED = ".json (WaveNetVA / PedalNetRT / SmartGuitarPedal / ampemu), .nam (Neural Amp Modeler WaveNet)"


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


def load_model(path, fast: bool = False) -> StreamingModel:
    path = Path(path)
    if path.suffix.lower() == ".json":
        return gated_wavenet_model(wavenetva_json.read_model(path), fast, name=path.stem)
    if path.suffix.lower() == ".nam":
        return nam_wavenet_model(nam.read_nam(path), fast, name=path.stem)
    raise AmpemuError(f"{path}: unknown model format '{path.suffix}'; supported: {SUPPORTED}")
