"""A capture pair (input.wav = the dry signal, output.wav = the device's answer): load, check, align, split.

Everything a user can get wrong about a capture is caught here with one line naming the file and
what to do: different rates, different lengths, silence, clipping, a latency between the two files.
Numpy only (no torch), so the checks run and are tested without the training stack.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.audio_io import read_wav, warn
from engine.delay import estimate_delay
from engine.errors import AmpemuError
from training.recipe import SPLIT

SILENCE_PEAK = 1e-4  # -80 dBFS: below this a file holds no usable signal
CLIP_LEVEL = 0.999
CLIP_WARN_SHARE = 1e-4  # warn when more than 0.01 % of the output samples sit at full scale
MAX_TRIM_SECONDS = 1.0  # longer length differences are a wrong pair of files, not a sloppy edit
MAX_DELAY_SECONDS = 0.2  # interface round trips are a few ms; 200 ms means the files do not match
LEAD_TOLERANCE = 2  # samples an output may seem to lead its input (rounding of the lag estimate)
# A clean DI is peaky (crest factor ~3 per 50 ms of playing); a driven device compresses it. An
# "input" much more compressed than its "output" is a swapped pair.
SWAPPED_CREST_RATIO = 0.8
# A guitar's low E and A strings ring between 60 and 120 Hz: a DI that plays them holds a few percent
# of its power there (the shared other-playing take 5 %, the capture signal 10 %). Under 0.2 % the
# device's answer to low notes is never heard and the model can only guess it: on three amps trained
# on such a DI (0.02 %), 60-200 Hz carried two thirds of the error on other playing (docs/training.md).
LOW_STRINGS_HZ = (60.0, 120.0)
LOW_STRINGS_MIN_SHARE = 2e-3


@dataclass
class Capture:
    input: np.ndarray  # float32, aligned with output
    output: np.ndarray
    sample_rate: int
    delay: int  # samples the output lagged the input (removed from `output`)
    input_path: str = ""
    output_path: str = ""

    @property
    def seconds(self) -> float:
        return self.input.size / self.sample_rate


def crest_factor(a: np.ndarray, rate: int) -> float:
    """Median peak / RMS of the 50 ms frames that hold playing (louder than a tenth of the loudest)."""
    hop = max(1, rate // 20)
    frames = a[:a.size // hop * hop].reshape(-1, hop).astype(np.float64)
    if not frames.size:
        return 0.0
    rms, peak = np.sqrt(np.mean(frames ** 2, axis=1)), np.max(np.abs(frames), axis=1)
    playing = rms > 0.1 * np.max(rms)
    return float(np.median(peak[playing] / rms[playing]))


def band_share(a: np.ndarray, rate: int, band: tuple[float, float], frame: int = 8192) -> float:
    """Share of `a`'s power between band[0] and band[1] Hz (Hann-windowed frames, a chunk at a time
    so an hour-long file costs no more memory than a minute)."""
    freqs = np.fft.rfftfreq(frame, 1.0 / rate)
    inside = (freqs >= band[0]) & (freqs < band[1])
    window, power = np.hanning(frame), np.zeros(freqs.size)
    starts = np.arange(0, a.size - frame + 1, frame // 2)
    for chunk in np.array_split(starts, max(1, starts.size // 256)):
        frames = a[chunk[:, None] + np.arange(frame)].astype(np.float64) * window
        power += np.sum(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0)
    total = float(power.sum())
    return float(power[inside].sum()) / total if total > 0 else 0.0


def _peak(a: np.ndarray) -> float:
    return float(np.max(np.abs(a))) if a.size else 0.0


def load_capture(input_path, output_path, channel: int | None = None, delay: int | None = None) -> Capture:
    """Read and check a capture pair; returns it aligned (latency removed) and trimmed to equal length.

    `delay` overrides the estimated latency (samples the output lags the input; 0 disables alignment)."""
    x, rate_in = read_wav(input_path, channel)
    y, rate_out = read_wav(output_path, channel)
    if rate_in != rate_out:
        raise AmpemuError(f"{output_path}: {rate_out} Hz but {input_path} is {rate_in} Hz; "
                          "record or resample both at the same rate")
    rate = rate_in
    diff = y.size - x.size
    if abs(diff) > MAX_TRIM_SECONDS * rate:
        raise AmpemuError(f"{output_path}: {y.size / rate:.2f} s but {input_path} is {x.size / rate:.2f} s "
                          f"(more than {MAX_TRIM_SECONDS:.0f} s apart): not a matching capture pair")
    if diff:
        warn(f"{output_path}: {abs(diff)} samples {'longer' if diff > 0 else 'shorter'} than {input_path}; "
             "trimming both to the shorter")
        n = min(x.size, y.size)
        x, y = x[:n], y[:n]
    for path, audio, what in ((input_path, x, "input"), (output_path, y, "output")):
        if _peak(audio) < SILENCE_PEAK:
            raise AmpemuError(f"{path}: the {what} is silent (peak below -80 dBFS); check the recording")
    clipped = float(np.mean(np.abs(y) >= CLIP_LEVEL))
    if clipped > CLIP_WARN_SHARE:
        warn(f"{output_path}: {100 * clipped:.2f} % of the samples are clipped at full scale; "
             "record the device's output with less gain for a faithful capture")

    crest_in, crest_out = crest_factor(x, rate), crest_factor(y, rate)
    if crest_in < SWAPPED_CREST_RATIO * crest_out:
        raise AmpemuError(f"{input_path}: the 'input' is more compressed than the 'output' (crest factor "
                          f"{crest_in:.2f} vs {crest_out:.2f}), as if it were the device's answer: are the files "
                          "swapped? Pass the dry signal as --input and the device's recording as --output")
    low = band_share(x, rate, LOW_STRINGS_HZ)
    if low < LOW_STRINGS_MIN_SHARE:
        warn(f"{input_path}: the input barely reaches the low strings ({100 * low:.2f} % of its power at "
             f"{LOW_STRINGS_HZ[0]:.0f}-{LOW_STRINGS_HZ[1]:.0f} Hz), so the model will only guess how the device "
             "answers low notes; play the low E and A strings in the capture, or re-amp ampemu's capture "
             "signal, which covers them (`ampemu capture`, docs/capture.md)")
    if delay is None:
        found = estimate_delay(x, y, rate, MAX_DELAY_SECONDS)
        if found.correlated and found.peak < -LEAD_TOLERANCE:
            raise AmpemuError(f"{output_path}: the output leads {input_path} by {-found.peak} samples "
                              f"({-1000 * found.peak / rate:.1f} ms), which no device does; are the files swapped? "
                              "(override with --delay)")
        if found.correlated and found.peak > MAX_DELAY_SECONDS * rate:
            raise AmpemuError(f"{output_path}: estimated latency {found.peak} samples "
                              f"({1000 * found.peak / rate:.1f} ms) is implausible (over {1000 * MAX_DELAY_SECONDS:.0f} "
                              "ms); check the pair or set it with --delay N")
        delay = found.remove
        print(f"latency: {found.describe(rate)} (override with --delay N)")
    elif not 0 <= delay <= MAX_DELAY_SECONDS * rate:
        raise AmpemuError(f"--delay {delay}: must be 0..{int(MAX_DELAY_SECONDS * rate)} samples "
                          f"(0..{1000 * MAX_DELAY_SECONDS:.0f} ms at {rate} Hz)")
    if delay:
        # output[t + delay] answers input[t]: drop the first `delay` output samples and the input's tail
        x, y = x[:x.size - delay], y[delay:]
    return Capture(np.ascontiguousarray(x), np.ascontiguousarray(y), rate, int(delay),
                   str(input_path), str(output_path))


@dataclass
class Segment:
    """A stretch of the capture plus the input that precedes it, so its first sample has full context.

    input has `history` more samples than target: input[history + t] is the sample that target[t] answers."""

    input: np.ndarray
    target: np.ndarray
    history: int


SPLITS = ("train", "validation", "test")


def split(capture: Capture, history: int, fractions=SPLIT) -> dict[str, Segment]:
    """Cut the capture in time into train / validation / test (in that order).

    Each segment's input carries up to `history` samples before it (the receptive field minus one);
    the first segment starts `history` samples in, so no counted sample ever sees invented zeros."""
    if len(fractions) != 3 or min(fractions) <= 0 or abs(sum(fractions) - 1) > 1e-6:
        raise AmpemuError(f"split fractions {fractions} must be three positive shares summing to 1")
    n = capture.input.size
    bounds = np.round(np.cumsum((0.0,) + tuple(fractions)) * n).astype(int)
    bounds[0] = history
    out = {}
    for name, start, stop in zip(SPLITS, bounds[:-1], bounds[1:]):
        if stop - start < 1:
            raise AmpemuError(f"{capture.input_path}: {capture.seconds:.2f} s is too short for a {name} split "
                              f"with a receptive field of {history + 1} samples; record a longer capture")
        out[name] = Segment(capture.input[start - history:stop], capture.output[start:stop], history)
    return out


def window_starts(length: int, window: int) -> np.ndarray:
    """Starts of windows of `window` targets covering [0, length); the last may be shorter."""
    return np.arange(0, length, window)
