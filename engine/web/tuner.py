"""A chromatic tuner: the pitch of the latest input samples (YIN), as a note name and cents.

YIN (de Cheveigné and Kawahara, 2002): the squared difference of the signal with itself delayed by
each lag, normalised by its running mean; the first dip under a threshold is the period. Its depth
also says whether there is a pitch at all (noise, chords and silence have no clear dip). For a tuner
the period must be exact to well under a cent (0.06 % of it): the lag is refined with a parabola
through the dip, and then at the dip k periods later (the largest multiple the window holds),
which divides the parabola's error by k. Runs on a web thread, never in the audio callback.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
LOWEST_HZ, HIGHEST_HZ = 30.0, 1500.0  # a 5-string bass's low B (31 Hz) .. a guitar's 24th fret (1319 Hz)
THRESHOLD = 0.15  # YIN's dip threshold; deeper dips are clearer pitches
SILENCE_DBFS = -60.0  # quieter input shows no note


@dataclass
class Pitch:
    hz: float
    note: str  # e.g. "A4"
    cents: float  # -50..+50 from the note
    clarity: float  # 1 - the dip's depth: 1 is a pure tone


def note_of(hz: float, a4: float = 440.0) -> tuple[str, float]:
    midi = 69.0 + 12.0 * math.log2(hz / a4)
    nearest = round(midi)
    return f"{NOTE_NAMES[nearest % 12]}{nearest // 12 - 1}", 100.0 * (midi - nearest)


def _difference(x: np.ndarray, max_lag: int) -> np.ndarray:
    """d[tau] = sum over j < W of (x[j] - x[j + tau])^2 for tau in 0..max_lag, W = len(x) - max_lag."""
    window = x.size - max_lag
    size = 1 << (x.size + window).bit_length()
    spectrum = np.fft.rfft(x, size)
    head = np.fft.rfft(x[:window], size)
    correlation = np.fft.irfft(np.conj(head) * spectrum, size)[:max_lag + 1]
    squares = np.concatenate(([0.0], np.cumsum(x * x)))
    energy_shifted = squares[window:window + max_lag + 1] - squares[:max_lag + 1]  # sum of x[j+tau]^2, j < W
    return np.maximum(squares[window] + energy_shifted - 2.0 * correlation, 0.0)


def _dip(d: np.ndarray, near: int) -> float:
    """The lag of d's minimum within 2 lags of `near`, refined by a parabola through it and its neighbours."""
    lo, hi = max(near - 2, 1), min(near + 3, d.size - 1)
    tau = lo + int(np.argmin(d[lo:hi]))
    if not 1 <= tau < d.size - 1:
        return float(tau)
    left, mid, right = d[tau - 1], d[tau], d[tau + 1]
    curve = left - 2.0 * mid + right
    return tau + (0.5 * (left - right) / curve if curve > 0 else 0.0)


def detect(x: np.ndarray, rate: int, lowest: float = LOWEST_HZ, highest: float = HIGHEST_HZ) -> Pitch | None:
    """The pitch of `x` (mono, a few periods of the lowest note: 4096 samples at 48 kHz), or None."""
    x = np.asarray(x, np.float64)
    max_lag = int(rate / lowest)
    if x.size < 2 * max_lag or 20 * math.log10(np.sqrt(np.mean(x * x)) + 1e-12) < SILENCE_DBFS:
        return None
    x = x - x.mean()
    d = _difference(x, max_lag)
    running = np.cumsum(d[1:])
    normalised = np.ones_like(d)
    normalised[1:] = d[1:] * np.arange(1, d.size) / np.maximum(running, 1e-20)
    min_lag = max(2, int(rate / highest))
    below = np.flatnonzero(normalised[min_lag:] < THRESHOLD)
    if below.size == 0:
        return None
    tau = min_lag + int(below[0])
    while tau + 1 < d.size and normalised[tau + 1] < normalised[tau]:  # walk down to the dip's bottom
        tau += 1
    period = _dip(d, tau)
    multiple = int((max_lag - 2) // period)
    if multiple > 1:
        period = _dip(d, round(multiple * period)) / multiple
    hz = rate / period
    note, cents = note_of(hz)
    return Pitch(hz, note, cents, float(1.0 - normalised[tau]))
