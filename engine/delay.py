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

A capture whose input carries calibration clicks (single samples in silence: `ampemu capture
--signal` puts one between each two sections) is measured exactly instead: a causal device answers
nothing before its pure delay, so where its answer to a click *starts* (not where it peaks) is that
delay, whatever the device's phase. When at least CLICK_MIN_COUNT clicks agree to the sample, that
lag is removed whole (`click_delay`); otherwise the cross-correlation above decides.

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
CLICK_QUIET_S = 0.1  # a click has this much silence in the input on each side ...
CLICK_QUIET_DB = -60.0  # ... (silence: this far under the click)
CLICK_FLOOR_S = 0.05  # the output's noise floor is read this long before the click: round trips up to 50 ms
CLICK_SNR_DB = 30.0  # an answer this far over the floor is a measurement
ONSET_FLOOR_FACTOR = 8.0  # the answer starts at its first sample over 8x the floor's RMS ...
ONSET_PEAK_DB = -60.0  # ... and over a thousandth of its peak (a noiseless render has no floor)
CLICK_MIN_COUNT = 3  # clicks that must agree (within CLICK_AGREE samples of their median)
CLICK_AGREE = 1


@dataclass(frozen=True)
class DelayEstimate:
    lag: int  # where the output lines up best with the input (positive: the output is later)
    clarity_db: float  # the weighted correlation's peak over its median: how sure the lag is
    remove: int  # samples to drop from the start of the output: 0, or the pure delay less the allowance
    clicks: int = 0  # calibration clicks the lag was read from (0: read from the cross-correlation)

    @property
    def sure(self) -> bool:
        return self.clicks >= CLICK_MIN_COUNT or self.clarity_db >= SURE_DB

    def describe(self, rate: int) -> str:
        if self.clicks:
            return (f"the device answers {self.clicks} calibration clicks {self.lag} samples "
                    f"({1000 * self.lag / rate:.2f} ms) after each: removing {self.remove}")
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


def isolated_clicks(x: np.ndarray, rate: int) -> np.ndarray:
    """Positions of the calibration clicks in `x`: samples of at least half its peak with nothing
    over CLICK_QUIET_DB (relative to the click) within CLICK_QUIET_S on either side."""
    magnitude = np.abs(x)
    peak = float(magnitude.max(initial=0.0))
    if peak == 0.0:
        return np.zeros(0, np.int64)
    quiet = int(CLICK_QUIET_S * rate)
    audible = magnitude > 0.5 * peak * 10 ** (CLICK_QUIET_DB / 20)  # half the peak, less the silence margin
    count = np.concatenate([[0], np.cumsum(audible)])
    loud = np.flatnonzero(magnitude >= 0.5 * peak)
    loud = loud[(loud >= quiet) & (loud + quiet < x.size)]
    alone = count[loud + quiet + 1] - count[loud - quiet] == 1  # the click is the only audible sample
    return loud[alone]


def click_delay(x: np.ndarray, y: np.ndarray, rate: int) -> DelayEstimate | None:
    """The pure delay read from where the device's answer to the calibration clicks in `x` starts, or
    None when fewer than CLICK_MIN_COUNT clicks give a clear answer at the same lag (audio lost or
    repeated between them). The lag is read once more from the agreeing answers' average, whose
    noise is sqrt(count) lower: a steep low-pass starts so softly that noise hides its first samples."""
    floor, window = int(CLICK_FLOOR_S * rate), int(CLICK_QUIET_S * rate)
    clicks = isolated_clicks(x, rate)
    floors = np.stack([y[t - floor:t] for t in clicks]).astype(np.float64) if clicks.size else np.zeros((0, floor))
    answers = np.stack([y[t:t + window] for t in clicks]).astype(np.float64) if clicks.size else np.zeros((0, window))
    onsets = np.array([_onset(a, f) for a, f in zip(answers, floors)], dtype=np.int64)
    heard = onsets >= 0
    if heard.sum() < CLICK_MIN_COUNT:
        return None
    lag = int(np.median(onsets[heard]))
    agreeing = heard & (np.abs(onsets - lag) <= CLICK_AGREE)
    if agreeing.sum() < CLICK_MIN_COUNT or agreeing.sum() < 2 * heard.sum() / 3:
        return None
    lag = min(lag, max(0, _onset(np.mean(answers[agreeing], axis=0), np.mean(floors[agreeing], axis=0))))
    return DelayEstimate(lag, float("inf"), lag, clicks=int(agreeing.sum()))


def _onset(answer: np.ndarray, floor: np.ndarray) -> int:
    """First sample of `answer` clearly over the noise in `floor` (-1: no clear answer)."""
    noise = float(np.sqrt(np.mean(np.square(floor))))
    magnitude = np.abs(answer)
    peak = float(magnitude.max(initial=0.0))
    if peak == 0.0 or peak < noise * 10 ** (CLICK_SNR_DB / 20):
        return -1
    return int(np.argmax(magnitude > max(ONSET_FLOOR_FACTOR * noise, peak * 10 ** (ONSET_PEAK_DB / 20))))


def estimate_delay(x: np.ndarray, y: np.ndarray, rate: int, max_seconds: float = 0.2) -> DelayEstimate:
    """The pure delay of the device that turned `x` into `y`: from the calibration clicks when `x`
    carries them, else from their first SEARCH_SECONDS' cross-correlation."""
    n = min(x.size, y.size)
    clicked = click_delay(x[:n], y[:n], rate)
    if clicked is not None:
        return clicked
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
