"""How many samples of pure delay (an interface's round trip) separate a capture's output from its input.

Amps and clipping pedals shift the phase of their lows and mids, so the peak of a cross-correlation
sits tens of samples after the delay even for a device with no latency at all (a guitarix amp: 24).
Removing that much asks a causal model to predict its output before it hears the input, and training
fails. The delay is where the device's response *starts*, found in three steps:

1. a generalised cross-correlation with maximum-likelihood weighting (coherence, phase only) places
   the response: its peak is at the delay or up to ~50 samples after it; a peak under SURE_DB over
   the rest is "no clear delay";
2. a least-squares FIR fit of the device's linear part (for a clipper its Bussgang part, still causal)
   over FIT_BEFORE taps before that peak and FIT_AFTER after, with the fit's residual (a clipper's
   harmonics) whitened first, is orthogonalised from its latest tap to its earliest (Cholesky): each
   tap's innovation is what it explains that the later ones cannot. Before a causal device's onset
   that is pure noise, whatever the input's band, so the first FLOOR_TAPS taps read the floor, and the
   response starts at the first tap ONSET_SIGMAS over it with one of the next two also over it, or at
   one SHARP_SIGMAS over it. This is not a regularised (Wiener) estimate of the response, whose taps a
   guitar DI's band (little over ~5 kHz) smears into a sinc that rises 5-10 samples before the onset,
   with sidelobes over any noise floor: the fit is unbiased and the taps before the onset see no
   sidelobes; the band only makes the onset's innovation small, so a response that rises gently (a
   low-passed amp) is first clear a sample or two after it starts;
3. so a sharp onset (SHARP_SIGMAS) is removed whole and a faint one EARLY_MARGIN short: early costs
   the model a sample of delay to learn, late breaks training.

Measured (tests/unit/test_delay.py, a DI-like signal, -80 dBFS noise): the pure delays 0, 1, 37, 480,
1999 through all-pass, high-pass, low-pass, hard clip, three clip-and-filter chains and a two-stage
tube amp are found at the delay or up to 2 after it and removed 0-2 samples early; an 800 Hz 4th-order
low-pass, whose first 5 taps hold 4e-5 of its energy, reads up to 5 late. The shared captures and
guitarix renders: see docs/training.md. A correlation that also peaks before the fit's reach (a quiet
direct sound before a loud echo) or no clear onset leaves the lag unsure: nothing is removed.

A capture whose input carries calibration clicks (single samples in silence: `ampemu capture
--signal` puts one between each two sections) is measured exactly instead: a causal device answers
nothing before its pure delay, so where its answer to a click *starts* (not where it peaks) is that
delay, whatever the device's phase. When at least CLICK_MIN_COUNT clicks agree to the sample, that
lag is removed whole (`click_delay`); otherwise the fit above decides.

The rig's round trip itself is measured with clicks through a loop cable (`ampemu capture
--calibrate`, `ampemu latency`): `click_train` and `find_delay`, a plain cross-correlation, since a
cable has no phase of its own.
Numpy only (capture runs on the Pi too).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

SEARCH_SECONDS = 30.0  # the first 30 s of a capture hold plenty of playing and keep this fast
SEGMENT = 4096  # Welch segment of the cross-spectrum; the fine search spans +-SEGMENT/4 around the coarse lag
SURE_DB = 22.0  # a correlation peak less than 22 dB over the rest is not a measurement
EARLIER_DB = 30.0  # a second peak this clear before the fit's reach may be the response's start (a DI's
# own periodicity leaves up to 24 dB there on the shared takes; a -20 dB direct sound before an echo: 38)
FIT_BEFORE = 192  # taps of the least-squares fit before the correlation peak (a device's phase puts the
FIT_AFTER = 320  # peak up to ~50 samples after the onset) and after it (the device's response)
FLOOR_TAPS = 96  # the fit's first 96 taps come before any causal response: they read the noise floor
ONSET_SIGMAS = 5.0  # the response starts at the first tap this far over the floor that one of the next two
# taps also is (a response stays clear; a tonal DI's leakage comes in single bumps, and noise alone
# passes 5 sigma once in 1.7e6 taps) ...
SHARP_SIGMAS = 100.0  # ... or at one tap this clear: it rose from the noise in one sample, the onset itself ...
EARLY_MARGIN = 2  # ... a fainter one may follow a gentle rise hidden in the noise: remove 2 less (early is free)
WHITEN_ORDER = 32  # the fit's residual (a clipper's distortion) is whitened by a predictor of this order
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
    lag: int  # the pure delay: where the device's response starts (positive: the output is later)
    clarity_db: float  # the weighted correlation's peak over its median: is there a delay to find at all
    remove: int  # samples to drop from the start of the output: 0 when unsure, else the delay less `margin`
    clicks: int = 0  # calibration clicks the lag was read from (0: read from the least-squares fit)
    peak: int = 0  # where the weighted cross-correlation peaks (the device's phase puts it after `lag`)
    onset_sigmas: float = 0.0  # the response's first clear tap over the fit's noise floor (0: none found)

    @property
    def margin(self) -> int:
        """Samples of the delay left in: none after a sharp onset or clicks, EARLY_MARGIN after a faint one."""
        return 0 if self.clicks or self.onset_sigmas >= SHARP_SIGMAS else EARLY_MARGIN

    @property
    def correlated(self) -> bool:
        """The output follows the input at `peak` (whether or not the response's onset is clear)."""
        return self.clarity_db >= SURE_DB

    @property
    def sure(self) -> bool:
        return self.clicks >= CLICK_MIN_COUNT or (self.correlated and self.onset_sigmas >= ONSET_SIGMAS)

    def describe(self, rate: int) -> str:
        if self.clicks:
            return (f"the device answers {self.clicks} calibration clicks {self.lag} samples "
                    f"({1000 * self.lag / rate:.2f} ms) after each: removing {self.remove}")
        if not self.correlated:
            return (f"no clear delay found (correlation peak at {self.peak} samples only {self.clarity_db:.0f} dB "
                    "over the rest); nothing removed: set it with --delay N")
        if not self.sure:
            return (f"the correlation peaks at {self.peak} samples, but where the device's response starts is "
                    "unclear; nothing removed: set it with --delay N, or record with the capture signal "
                    "(its clicks give it exactly)")
        how = (f"{self.onset_sigmas:.0f}x over the fit's noise; "
               f"the correlation peaks {self.peak - self.lag} samples later")
        if self.lag <= 0:
            return f"none: the device's response starts with the input ({how}): nothing removed"
        found = (f"output lags the input by {self.lag} samples ({1000 * self.lag / rate:.2f} ms): the device's "
                 f"response starts there ({how})")
        if not self.remove:
            return found + "; nothing removed"
        return found + f"; removing {self.remove}" + (f", {self.margin} short of it to be safe" if self.margin else "")


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


def _convolve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Full linear convolution by FFT (np.convolve is direct: seconds for a 30 s capture and 512 taps)."""
    size = 1 << int(np.ceil(np.log2(a.size + b.size - 1)))
    return np.fft.irfft(np.fft.rfft(a, size) * np.fft.rfft(b, size), size)[:a.size + b.size - 1]


def _normal_equations(x: np.ndarray, y: np.ndarray, first: int, taps: int) -> tuple[np.ndarray, np.ndarray]:
    """The exact least-squares normal equations (gram, cross) of y[t] ~ sum_k h[k] x[t - k] over taps
    k = first .. first + taps - 1 and every t whose inputs all exist (the covariance method: the
    Toeplitz shortcut's edge terms, 1e-3 of the signal, would read as taps above a -80 dB floor)."""
    n = min(x.size, y.size)
    t0, t1 = max(0, first + taps - 1), min(n, n + first)
    a = x[t0 - first - (taps - 1):t1 - first]  # tap j's regressor is a[taps-1-j:][:t1-t0]
    span = t1 - t0
    size = 1 << int(np.ceil(np.log2(a.size)))  # lags 0..taps-1 of the correlations never wrap
    spectrum = np.fft.rfft(a, size)
    reverse = taps - 1 - np.arange(taps)
    cross = np.fft.irfft(np.conj(np.fft.rfft(y[t0:t1], size)) * spectrum, size)[reverse]
    row = np.fft.irfft(np.conj(np.fft.rfft(a[taps - 1:], size)) * spectrum, size)[reverse]  # gram[0, k]
    # along each diagonal gram[j + 1, k + 1] = gram[j, k] + (the sample entering) - (the sample leaving)
    entering, leaving = a[taps - 2::-1][:taps - 1], a[span + taps - 2:span - 1:-1][:taps - 1]
    gram = np.empty((taps, taps))
    for d in range(taps):
        steps = entering[:taps - 1 - d] * entering[d:taps - 1] - leaving[:taps - 1 - d] * leaving[d:taps - 1]
        diagonal = row[d] + np.concatenate([[0.0], np.cumsum(steps)])
        gram[np.arange(taps - d), np.arange(d, taps)] = diagonal
        gram[np.arange(d, taps), np.arange(taps - d)] = diagonal
    gram[np.diag_indices(taps)] += 1e-12 * np.trace(gram) / taps  # a DI with exact zeros in its spectrum
    return gram, cross


def _whitened(x: np.ndarray, y: np.ndarray, first: int, taps: int) -> tuple[np.ndarray, np.ndarray]:
    """x and y through the filter that whitens the residual of y's least-squares fit from x: what a
    clipper adds (its harmonics, loud where the input is quiet) then weighs no more than white noise."""
    gram, cross = _normal_equations(x, y, first, taps)
    fit = _convolve(x, np.linalg.solve(gram, cross))  # fit[t - first] predicts y[t]
    start = max(0, first + taps)
    residual = y[start:] - fit[start - first:y.size - first]
    acf = np.array([residual[:residual.size - i] @ residual[i:] for i in range(WHITEN_ORDER + 1)])
    toeplitz = acf[np.abs(np.subtract.outer(np.arange(WHITEN_ORDER), np.arange(WHITEN_ORDER)))]
    predictor = np.linalg.solve(toeplitz + 1e-9 * acf[0] * np.eye(WHITEN_ORDER), acf[1:])
    whitener = np.concatenate([[1.0], -predictor])
    return np.convolve(x, whitener)[:x.size], np.convolve(y, whitener)[:y.size]


def response_onset(x: np.ndarray, y: np.ndarray, peak: int) -> tuple[int, float]:
    """Where the response of the device that turned x into y starts, near the correlation `peak`, and
    how far its first clear tap stands over the noise (0.0: nothing stands out; the onset is then `peak`).

    A least-squares FIR fit of taps peak - FIT_BEFORE .. peak + FIT_AFTER, its residual whitened
    (generalised least squares), is orthogonalised from the latest tap to the earliest (Cholesky):
    each tap's innovation is what it explains that the later taps cannot. Before a causal device's
    onset that is pure noise, whatever the input's band, so the first FLOOR_TAPS taps give the floor
    (module docstring: the thresholds). A band-limited DI does not smear this (the fit is unbiased, and
    taps before the onset see no sidelobes); it only makes the onset's innovation small, so a response
    that rises gently can start a few samples before its first clear tap (an 800 Hz 4th-order
    low-pass: 5)."""
    first, taps = peak - FIT_BEFORE, FIT_BEFORE + FIT_AFTER
    xw, yw = _whitened(x, y, first, taps)
    gram, cross = _normal_equations(xw, yw, first, taps)
    latest_first = np.linalg.cholesky(gram[::-1, ::-1])  # taps in reverse: the latest is orthogonalised first
    innovation = np.abs(np.linalg.solve(latest_first, cross[::-1])[::-1])
    floor = 1.4826 * float(np.median(innovation[:FLOOR_TAPS]))  # the median's estimate of a Gaussian's sigma
    sigmas = innovation / max(floor, 1e-300)
    over = sigmas > ONSET_SIGMAS
    sustained = over[:-2] & (over[1:-1] | over[2:])  # over, and so is one of the next two
    clear = np.flatnonzero((sigmas[:-2] >= SHARP_SIGMAS) | sustained)
    if clear.size == 0 or clear[0] < FLOOR_TAPS:  # nothing, or the floor itself holds the response
        return peak, 0.0
    return first + int(clear[0]), float(sigmas[clear[0]])


def estimate_delay(x: np.ndarray, y: np.ndarray, rate: int, max_seconds: float = 0.2) -> DelayEstimate:
    """The pure delay of the device that turned `x` into `y`: from the calibration clicks when `x`
    carries them, else where the device's response starts in a least-squares fit of its first
    SEARCH_SECONDS, placed by their weighted cross-correlation."""
    n = min(x.size, y.size)
    clicked = click_delay(x[:n], y[:n], rate)
    if clicked is not None:
        return clicked
    n = min(x.size, y.size, int(SEARCH_SECONDS * rate))
    x, y = x[:n].astype(np.float64), y[:n].astype(np.float64)
    coarse = coarse_lag(x, y, int(max_seconds * rate) * 2)  # wider than we accept, to report implausible ones
    shift = coarse - SEGMENT // 8  # move y so the fine search sees the lag near SEGMENT / 8
    xs, ys = (x[:n - shift], y[shift:]) if shift >= 0 else (x[-shift:], y[:n + shift])
    if xs.size < 4 * SEGMENT:
        return DelayEstimate(coarse, 0.0, 0, peak=coarse)
    corr = np.abs(weighted_correlation(xs, ys))
    span = np.arange(-SEGMENT // 4, SEGMENT // 4)
    fine = int(span[np.argmax(corr[span % SEGMENT])])
    peak = shift + fine
    median = max(float(np.median(corr)), 1e-300)
    clarity_db = float(20 * np.log10(corr[fine % SEGMENT] / median))
    # a clear correlation further before the peak than the fit reaches (a quiet direct sound before a
    # loud echo) may be where the response starts: unsure
    before = np.arange(fine - SEGMENT // 4, fine - FIT_BEFORE + FLOOR_TAPS)
    earlier_db = float(20 * np.log10(corr[before % SEGMENT].max() / median))
    if clarity_db < SURE_DB or earlier_db >= EARLIER_DB or abs(peak) + FIT_AFTER + 4 * SEGMENT > n:
        return DelayEstimate(peak, clarity_db, 0, peak=peak)
    onset, sigmas = response_onset(x, y, peak)
    found = DelayEstimate(onset, clarity_db, 0, peak=peak, onset_sigmas=sigmas)
    return replace(found, remove=max(0, onset - found.margin)) if found.sure else found


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
