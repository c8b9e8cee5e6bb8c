"""Load any supported model file into a StreamingModel; the file extension picks the format module."""

from __future__ import annotations

from pathlib import Path

from engine.errors import AmpemuError
from engine.formats import wavenetva_json
from engine.kernels import gated_wavenet
from engine.streaming import StreamingModel

SUPPORTED = ".json (WaveNetVA / PedalNetRT / SmartGuitarPedal / ampemu)"


def gated_wavenet_model(weights: wavenetva_json.GatedWaveNetWeights, fast: bool = False, name: str = "") -> StreamingModel:
    layout, params, state, cursor = gated_wavenet.build(weights, fast)
    return StreamingModel(layout, params, state, cursor, sample_rate=weights.sample_rate,
                          receptive_field=weights.receptive_field, output_gain_db=weights.level_adjust_db,
                          name=name, metadata=weights.metadata,
                          description=f"gated WaveNet, {weights.channels} channels, kernel {weights.kernel_size}, "
                                      f"{len(weights.dilations)} layers")


def load_model(path, fast: bool = False) -> StreamingModel:
    path = Path(path)
    if path.suffix.lower() == ".json":
        return gated_wavenet_model(wavenetva_json.read_model(path), fast, name=path.stem)
    raise AmpemuError(f"{path}: unknown model format '{path.suffix}'; supported: {SUPPORTED}")
