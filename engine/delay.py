"""How many samples of pure delay (an interface's round trip) separate a capture's output from its input.

Amps and clipping pedals shift the phase of the lows and mids, so a plain cross-correlation peaks
tens of samples late even for a device with no latency at all (the DS-1 capture: 32 samples).
Removing that much asks a causal model to predict its output before it hears the input, and
training fails. Two defences:

1. the lag is found by a generalised cross-correlation with maximum-likelihood weighting (each
   frequency weighted by how coherent the output is with the input there, phase only): a pure delay
   shifts every frequency alike, a device's phase shift only some, so a linear phase-shifting device
   (all-pass, high-pass, low-pass) plus any delay is found to the sample;
2. a clipping device's coherent band is its lows, where its phase lags, so even that lag can be
   late by tens of samples (DS-1: 32, amps: up to ~48). The first DEVICE_PHASE_MAX samples of any lag
   are therefore left in: plug-ins, offline renders and devices recorded on one clock get 0, and a
   real round trip loses all but those samples, which the model learns as a short delay for free.
   The exact round trip comes from a calibration (`ampemu capture --calibrate`) or `--delay N`.

The estimate never errs late by design: a late estimate breaks training, an early one costs nothing.

The rig's round trip itself is measured with clicks through a loop cable (`ampemu capture
--calibrate`, `ampemu latency`): `click_train` and `find_delay`, a plain cross-correlation, since a
cable has no phase of its own.
Numpy only (capture runs on the Pi too).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEARCH_SECONDS = 30.0  # the first 30 s of a capture hold plenty of playing and keep this fast
SEGMENT = 4096  # Welch segment of the cross-spectrum; the fine search spans +-SEGMENT/4 around the coarse lag
DEVICE_PHASE_MAX = 64  # samples (1.3 ms at 48 kHz) of any lag read as the device's phase and left in
SURE_DB = 22.0  # a correlation peak less than 22 dB over the rest is not a measurement
MAX_LATENCY_S = 0.5  # a longer round trip is not a loop worth playing through (and bounds the search)


@dataclass(frozen=True)
class DelayEstimate:
    lag: int  # where the output lines up best with the input (positive: the output is later)
    clarity_db: float  # the weighted correlation's peak over its median: how sure the lag is
    remove: int  # samples to drop from the start of the output: 0, or the pure delay less the allowance

    @property
    def sure(self) -> bool:
        return self.clarity_db >= SURE_DB

    def describe(self, rate: int) -> str:
        if not self.sure:
            return (f"no clear delay found (correlation peak at {self.lag} samples only {self.clarity_db:.0f} dB "
                    "over the rest); nothing removed")
        what = (f"removing {self.remove} ({self.lag - self.remove} left for the device's own phase)" if self.remove
                else "read as the device's own phase response, nothing removed")
        return f"output lags the input by {self.lag} samples ({1000 * self.lag / rate:.2f} ms): {what}"


def _abs_correlation(x: np.ndarray, y: np.ndarray, size: int) -> np.ndarray:
    """|cross-correlation| of y with x by FFT of `size` points: index k (mod size) is lag k."""
    spectrum = np.fft.rfft(y.astype(np.float64), size) * np.conj(np.fft.rfft(x.astype(np.float64), size))
    return np.abs(np.fft.irfft(spectrum, size))


def coarse_lag(x: np.ndarray, y: np.ndarray, max_lag: int) -> int:
    """Lag in [-max_lag, max_lag] of the largest |cross-correlation| (polarity ignored)."""
    size = 1 << int(np.ceil(np.log2(x.size + max_lag + 1)))
    corr = _abs_correlation(x, y, size)
    lags = np.arange(-max_lag, max_lag + 1)
    return int(lags[np.argmax(corr[lags % size])])


def _segments(a: np.ndarray) -> np.ndarray:
    """Hann-windowed half-overlapping segments' spectra, (segments, SEGMENT // 2 + 1)."""
    hop = SEGMENT // 2
    starts = np.arange(0, a.size - SEGMENT + 1, hop)
    frames = a[starts[:, None] + np.arange(SEGMENT)] * np.hanning(SEGMENT)
    return np.fft.rfft(frames, axis=1)


def weighted_correlation(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Cross-correlation of y with x (index = lag mod SEGMENT) with maximum-likelihood weighting:
    phase only, each frequency weighted by coherence^2 / (1 - coherence^2)."""
    fx, fy = _segments(x.astype(np.float64)), _segments(y.astype(np.float64))
    cross = np.mean(fy * np.conj(fx), axis=0)
    power_x, power_y = np.mean(np.abs(fx) ** 2, axis=0), np.mean(np.abs(fy) ** 2, axis=0)
    coherence = np.clip(np.abs(cross) ** 2 / np.maximum(power_x * power_y, 1e-300), 0.0, 0.99)
    weight = coherence / (1 - coherence) / np.maximum(np.abs(cross), 1e-300)
    return np.fft.irfft(weight * cross, SEGMENT)


def estimate_delay(x: np.ndarray, y: np.ndarray, rate: int, max_seconds: float = 0.2) -> DelayEstimate:
    """The pure delay of the device that turned `x` into `y`, from their first SEARCH_SECONDS."""
    n = min(x.size, y.size, int(SEARCH_SECONDS * rate))
    x, y = x[:n], y[:n]
    coarse = coarse_lag(x, y, int(max_seconds * rate) * 2)  # wider than we accept, to report implausible ones
    shift = coarse - SEGMENT // 8  # move y so the fine search sees the lag near SEGMENT / 8
    xs, ys = (x[:n - shift], y[shift:]) if shift >= 0 else (x[-shift:], y[:n + shift])
    if xs.size < 4 * SEGMENT:
        return DelayEstimate(coarse, 0.0, 0)
    corr = np.abs(weighted_correlation(xs, ys))
    span = np.arange(-SEGMENT // 4, SEGMENT // 4)
    fine = int(span[np.argmax(corr[span % SEGMENT])])
    lag = shift + fine
    clarity_db = float(20 * np.log10(corr[fine % SEGMENT] / max(float(np.median(corr)), 1e-300)))
    remove = max(0, lag - DEVICE_PHASE_MAX) if clarity_db >= SURE_DB else 0
    return DelayEstimate(lag, clarity_db, remove)


def click_train(clicks: int, spacing: int, lead: int, level: float) -> np.ndarray:
    """Single-sample clicks `spacing` frames apart after `lead` frames of silence."""
    signal = np.zeros(lead + clicks * spacing, np.float32)
    signal[lead::spacing] = level
    return signal


def find_delay(sent: np.ndarray, received: np.ndarray, max_lag: int) -> tuple[int, float]:
    """Lag (frames, 0..max_lag) where `received` best matches `sent`, and the match's strength
    (normalised cross-correlation at that lag: 1 is a perfect copy, polarity ignored)."""
    size = 1 << int(np.ceil(np.log2(received.size + sent.size)))  # no wrap-around for lags >= 0
    window = _abs_correlation(sent, received, size)[:max_lag + 1]  # index = lag
    lag = int(np.argmax(window))
    segment = received[lag:lag + sent.size].astype(np.float64)
    norm = np.linalg.norm(sent) * np.linalg.norm(segment)
    return lag, float(window[lag] / norm) if norm > 0 else 0.0
