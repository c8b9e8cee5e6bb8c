"""Level matching: how loud a model plays a standard guitar phrase, and the gain that evens it out.

Every model is measured the same way (our own standard input, RMS in dBFS over the phrase), so the
gains are consistent across .json and .nam files whatever their metadata claims.
"""

from __future__ import annotations

import math

import numpy as np

from engine.render import render
from engine.streaming import StreamingModel

PHRASE_SECONDS = 3.0


def standard_guitar(rate: int) -> np.ndarray:
    """A deterministic DI-like phrase: Karplus-Strong plucks over two octaves, peak 0.5."""
    rng = np.random.default_rng(20261125)
    out = np.zeros(int(PHRASE_SECONDS * rate), np.float64)
    notes = [40, 43, 45, 47, 50, 52, 55, 57, 59, 62, 64, 67]  # MIDI numbers, E2 upwards
    step = out.size // len(notes)
    for i, note in enumerate(notes):
        period = max(2, int(round(rate / (440.0 * 2 ** ((note - 69) / 12)))))
        line = rng.uniform(-1, 1, period)
        start = i * step
        pluck = np.empty(min(2 * step, out.size - start))
        for n in range(pluck.size):
            pluck[n] = line[n % period]
            line[n % period] = 0.996 * 0.5 * (line[n % period] + line[(n + 1) % period])
        out[start:start + pluck.size] += pluck
    return (0.5 * out / np.max(np.abs(out))).astype(np.float32)


def loudness_db(model: StreamingModel) -> float:
    """RMS level in dBFS of the model's output on the standard phrase (state is reset after); NaN
    when the output is not finite. Measured once per model (load_model measures it on loading)."""
    if model.level_db is not None:
        return model.level_db
    y = render(model, standard_guitar(model.sample_rate), block=256)
    model.reset()
    if not np.all(np.isfinite(y)):
        return math.nan
    rms = float(np.sqrt(np.mean(np.square(y, dtype=np.float64))))
    return 20.0 * math.log10(max(rms, 1e-9))


def matching_gain_db(measured_db: float, target_db: float) -> float:
    """Gain that brings a model measured at `measured_db` to `target_db`, limited to +-30 dB so a
    near-silent model (a broken capture) is not blown up into noise."""
    return float(np.clip(target_db - measured_db, -30.0, 30.0))
