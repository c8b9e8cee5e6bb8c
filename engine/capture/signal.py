"""The capture signal: what `ampemu capture` plays into the device (`--signal FILE` writes it for a DAW).

A model learns the device from what it hears in the capture, so the signal covers what a guitarist
plays and a little beyond, in sections (shares of the time, docs/capture.md has the reasons):

    silence   the return's noise floor (the model learns to stay quiet)
    sweeps    exponential sine sweeps at three levels (the whole band, each frequency alone)
    notes     single notes and double stops, E2..E6, at four dynamics
    chords    strummed chords (power, major, minor, open voicings) at four dynamics
    mutes     palm-mute-like short, dark, fast-decaying notes and chugs at four dynamics
    noise     pink noise through the pickup filter at five levels (dense, every frequency at once)
    mixed     all three playing styles, each phrase at its own dynamic (the training split's
              validation and test come from the end of a capture, so they grade on playing)
    tail      silence while the device rings out

Notes are Karplus-Strong plucked strings (`pluck`) picked like real strings and heard through a
pickup-like filter, as dark as a real DI. Between sections, in silence, sits a single-sample
click at the signal's peak level; `click_positions` says where, so the alignment of every take (and
later of any capture made with this signal) can be checked. Same seconds, rate and level: same
samples, on every machine (a fixed seed). Numpy only: it is generated on the pedal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.errors import AmpemuError

SIGNAL_VERSION = 1  # bump when the samples for given (seconds, rate, level) change
SEED = 18
DEFAULT_SECONDS = 180.0
MIN_SECONDS = 2.0
MAX_SECONDS = 1800.0
DEFAULT_LEVEL_DB = -6.0  # peak, dBFS: a typical DI's peak (the shared captures' DI peaks at 0.5)

# (section, share of the time left after the click slots)
SECTIONS = (("silence", 0.03), ("sweeps", 0.05), ("notes", 0.22), ("chords", 0.16), ("mutes", 0.11),
            ("noise", 0.08), ("mixed", 0.32), ("tail", 0.03))
DYNAMICS_DB = (-18.0, -12.0, -6.0, 0.0)  # playing sections: four sub-blocks, soft to hard
SWEEP_LEVELS_DB = (-30.0, -20.0, -10.0)  # a sine is loud for its peak: these sit at the playing's RMS
NOISE_LEVELS_DB = (-40.0, -32.0, -24.0, -16.0, -8.0)  # peaks; noise RMS is 13 dB under its peak
SWEEP_HZ = (80.0, 8000.0)  # a guitar's DI holds little outside E2's 82 Hz .. 5 kHz
# a magnetic pickup into a cable: a resonant second-order low-pass (2.5 kHz, Q 1.5), and a second-order
# 80 Hz high-pass (nothing under the low E string);
# the strings' raw bursts are far brighter than any DI (spectral centroid 2.7 kHz without, 0.6-0.9 kHz in
# the shared DI takes), and the devices are driven by what a pickup lets through
PICKUP_HZ, PICKUP_Q, PICKUP_HIGHPASS_HZ = 2500.0, 1.5, 80.0
FADE_S = 0.005  # edges of sweeps and noise blocks: no clicks but ours


@dataclass(frozen=True)
class Section:
    name: str
    start: int  # frame
    length: int


def click_slot(seconds: float) -> float:
    """Seconds of silence around each click: 0.5 s in a 3-minute signal, less in short ones."""
    return min(0.5, max(0.05, seconds / 60.0))


def layout(seconds: float, rate: int) -> tuple[list[Section], list[int]]:
    """The sections and the click positions (frames) of a signal of `seconds` at `rate`."""
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise AmpemuError(f"--seconds {seconds:g}: the capture signal lasts {MIN_SECONDS:g} to {MAX_SECONDS:g} s "
                          f"(default {DEFAULT_SECONDS:g})")
    if rate < 8000:
        raise AmpemuError(f"{rate} Hz: the capture signal needs at least 8000 Hz")
    total = int(round(seconds * rate))
    slot = int(click_slot(seconds) * rate)
    clicks_count = len(SECTIONS) - 1  # one between each two sections
    left = total - clicks_count * slot
    lengths = [int(share * left) for _, share in SECTIONS]
    lengths[-1] += left - sum(lengths)  # rounding goes to the tail
    sections, clicks, position = [], [], 0
    for k, ((name, _), length) in enumerate(zip(SECTIONS, lengths)):
        sections.append(Section(name, position, length))
        position += length
        if k < clicks_count:
            clicks.append(position + slot // 3)  # a third into its silent slot: room for the device to ring
            position += slot
    return sections, clicks


def click_positions(seconds: float = DEFAULT_SECONDS, rate: int = 48000) -> list[int]:
    """Frames of the calibration clicks in the capture signal of `seconds` at `rate` (what a trainer
    checks a capture's alignment with: the device's answer to each click comes at the same lag)."""
    return layout(seconds, rate)[1]


def pluck(freq: float, seconds: float, rate: int, velocity: float, rng: np.random.Generator,
          damping: float = 0.996, smoothing: int = 1, position: float | None = None,
          grit: float = 0.0) -> np.ndarray:
    """A plucked string (Karplus-Strong): a burst one period long circulating in a delay line,
    y[t] = burst[t] + d/2 * (y[t-P] + y[t-P-1]), d = damping ** (440 / freq) (high notes ring shorter
    per period, like real strings). The burst is white noise (the classic, bright), or with `position`
    the string's shape when pulled aside at that fraction of its length (harmonics falling 12 dB per
    octave with the pick position's notches, as on a real string) plus `grit` of noise (the pick's
    scrape). `smoothing` two-point averages of the burst: a softer, darker pick."""
    period = max(2, int(round(rate / freq)))
    n = int(seconds * rate)
    if position is None:
        burst = rng.uniform(-1, 1, period)
    else:
        k = np.arange(period) / period
        shape = np.where(k < position, k / position, (1.0 - k) / (1.0 - position))
        burst = shape - shape.mean() + grit * rng.uniform(-1, 1, period)
    for _ in range(smoothing):
        burst[1:] = 0.5 * (burst[1:] + burst[:-1])
        burst[0] *= 0.5
    feedback = 0.5 * damping ** (440.0 / freq)
    line = np.zeros(period + 1 + n)  # period + 1 leading zeros: y[t - P - 1] exists for every t
    offset = period + 1
    line[offset:offset + min(period, n)] = burst[:n]
    for start in range(0, n, period):  # a period at a time: each sample needs only earlier periods
        stop = min(start + period, n)
        line[offset + start:offset + stop] += feedback * (line[offset + start - period:offset + stop - period]
                                                          + line[offset + start - period - 1:offset + stop - period - 1])
    return velocity * line[offset:]


def _midi_hz(note: int) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


CHORD_SHAPES = ((0, 7, 12), (0, 7, 12, 19), (0, 4, 7, 12, 16, 19), (0, 3, 7, 12, 15, 19), (0, 5, 10, 15, 19, 24),
                (0, 7, 10, 16), (0, 4, 10, 14))  # power, power + fifth, major, minor, open fourths, 7th, 9th


def _strike(out: np.ndarray, start: int, notes, ring: float, rate: int, velocity: float, rng, *,
            strum_s: float = 0.0, damping: float = 0.996, smoothing: int = 1) -> None:
    """Add `notes` (MIDI) from frame `start`, each ringing `ring` s then released over 20 ms; picked
    between 8 and 35 % of the string's length, harder picks with more scrape."""
    release = max(2, int(0.02 * rate))
    for k, note in enumerate(notes):
        at = start + int(k * strum_s * rate)
        if at >= out.size:
            return
        tone = pluck(_midi_hz(note), ring, rate, velocity * rng.uniform(0.8, 1.0), rng, damping, smoothing,
                     position=float(rng.uniform(0.08, 0.35)), grit=0.3 * velocity)
        tone = tone[:out.size - at]
        tail = min(release, tone.size)
        tone[tone.size - tail:] *= np.linspace(1.0, 0.0, tail)  # the fretting hand lets go
        out[at:at + tone.size] += tone


def _playing(style: str, length: int, rate: int, rng: np.random.Generator) -> np.ndarray:
    """`length` frames of one playing style (notes, chords, mutes), picking strength varied per note."""
    out = np.zeros(length)
    t = 0
    while t < length:
        velocity = float(rng.uniform(0.4, 1.0))
        smoothing = 1 if velocity > 0.75 else 2 if velocity > 0.55 else 3  # soft picks are darker
        if style == "notes":
            step = float(rng.choice([0.08, 0.125, 0.25, 0.375, 0.5, 1.0]))
            root = int(rng.integers(40, 89))  # E2..E6
            notes = [root] if rng.random() < 0.7 else [root, root + int(rng.choice([3, 4, 5, 7, 12]))]
            if rng.random() > 0.06:  # else a rest
                _strike(out, t, notes, step * rng.uniform(1.0, 2.0), rate, velocity, rng, smoothing=smoothing)
        elif style == "chords":
            step = float(rng.choice([0.25, 0.5, 1.0, 1.5, 2.0]))
            root = int(rng.integers(40, 58))
            notes = [root + i for i in CHORD_SHAPES[int(rng.integers(len(CHORD_SHAPES)))]]
            if rng.random() < 0.5:
                notes.reverse()  # an upstroke
            if rng.random() > 0.06:
                _strike(out, t, notes, step * rng.uniform(0.8, 1.5), rate, velocity, rng,
                        strum_s=float(rng.uniform(0.004, 0.025)), smoothing=smoothing)
        else:  # mutes: the palm damps the strings at the bridge: short, dark, fast decay
            step = float(rng.choice([0.0625, 0.125, 0.125, 0.1875, 0.25]))
            root = int(rng.integers(40, 53))
            notes = [root] if rng.random() < 0.6 else [root, root + 7]
            if rng.random() > 0.04:
                _strike(out, t, notes, min(step, 0.2) * rng.uniform(0.8, 1.2), rate, velocity, rng,
                        strum_s=0.003, damping=0.93, smoothing=smoothing + 2)
        t += int(step * rate)
    return _pickup(_faded(out, rate), rate)  # strings still ringing at the end are damped, not cut


def _pickup(x: np.ndarray, rate: int) -> np.ndarray:
    """`x` as a guitar pickup and its cable shape it (magnitude only, applied in the frequency domain)."""
    size = 1 << int(np.ceil(np.log2(max(x.size, 2))))  # a fast FFT size (the ends are faded silence)
    f = np.fft.rfftfreq(size, 1.0 / rate)
    ratio = f / PICKUP_HZ
    lowpass = 1.0 / np.sqrt((1.0 - ratio ** 2) ** 2 + (ratio / PICKUP_Q) ** 2)
    highpass = f ** 2 / (f ** 2 + PICKUP_HIGHPASS_HZ ** 2)
    return np.fft.irfft(np.fft.rfft(x, size) * lowpass * highpass, size)[:x.size]


def _peak_to(x: np.ndarray, level_db: float) -> np.ndarray:
    peak = np.max(np.abs(x)) if x.size else 0.0
    return x * (10 ** (level_db / 20) / peak) if peak > 0 else x


def _faded(x: np.ndarray, rate: int) -> np.ndarray:
    fade = min(int(FADE_S * rate), x.size // 2)
    if fade:
        ramp = np.linspace(0.0, 1.0, fade)
        x[:fade] *= ramp
        x[x.size - fade:] *= ramp[::-1]
    return x


def _blocks(length: int, count: int) -> list[tuple[int, int]]:
    edges = np.linspace(0, length, count + 1).astype(int)
    return list(zip(edges[:-1], edges[1:]))


def _dynamics(style: str, length: int, rate: int, rng) -> np.ndarray:
    out = np.zeros(length)
    for (a, b), level in zip(_blocks(length, len(DYNAMICS_DB)), DYNAMICS_DB):
        out[a:b] = _peak_to(_playing(style, b - a, rate, rng), level)
    return out


def _sweeps(length: int, rate: int) -> np.ndarray:
    out = np.zeros(length)
    low, high = SWEEP_HZ[0], min(SWEEP_HZ[1], 0.45 * rate)
    for (a, b), level in zip(_blocks(length, len(SWEEP_LEVELS_DB)), SWEEP_LEVELS_DB):
        n = int(0.9 * (b - a))  # a short rest after each sweep
        duration = n / rate
        t = np.arange(n) / rate
        k = np.log(high / low)
        phase = 2 * np.pi * low * duration / k * (np.exp(t * k / duration) - 1.0)
        out[a:a + n] = _faded(10 ** (level / 20) * np.sin(phase), rate)
    return out


def _noise(length: int, rate: int, rng) -> np.ndarray:
    """Pink noise (equal energy per octave, like music) through the pickup: dense, guitar-coloured."""
    size = 1 << int(np.ceil(np.log2(length)))  # a fast FFT size
    freqs = np.fft.rfftfreq(size, 1.0 / rate)
    pink = 1.0 / np.sqrt(np.maximum(freqs, PICKUP_HIGHPASS_HZ))
    noise = _pickup(np.fft.irfft(np.fft.rfft(rng.standard_normal(size)) * pink, size)[:length], rate)
    out = np.zeros(length)
    for (a, b), level in zip(_blocks(length, len(NOISE_LEVELS_DB)), NOISE_LEVELS_DB):
        n = int(0.95 * (b - a))
        out[a:a + n] = _faded(_peak_to(noise[a:a + n].copy(), level), rate)
    return out


def _mixed(length: int, rate: int, rng) -> np.ndarray:
    out = np.zeros(length)
    t = 0
    while t < length:
        n = min(int(rng.uniform(1.0, 4.0) * rate), length - t)
        style = ("notes", "chords", "mutes")[int(rng.integers(3))]
        out[t:t + n] = _peak_to(_playing(style, n, rate, rng), float(rng.uniform(-24.0, 0.0)))
        t += n
    return out


def check_level(level_db: float) -> None:
    if not -60.0 <= level_db <= 0.0:
        raise AmpemuError(f"--level {level_db:g}: the signal's peak must be -60 to 0 dBFS (default {DEFAULT_LEVEL_DB:g})")


def capture_signal(seconds: float = DEFAULT_SECONDS, rate: int = 48000, level_db: float = DEFAULT_LEVEL_DB) -> np.ndarray:
    """The capture signal (float32, mono): `seconds` long at `rate`, peaking at `level_db` dBFS."""
    check_level(level_db)
    sections, clicks = layout(seconds, rate)
    rng = np.random.default_rng(SEED)
    out = np.zeros(sections[-1].start + sections[-1].length)
    for section in sections:
        n = section.length
        if section.name in ("notes", "chords", "mutes"):
            part = _dynamics(section.name, n, rate, rng)
        elif section.name == "sweeps":
            part = _sweeps(n, rate)
        elif section.name == "noise":
            part = _noise(n, rate, rng)
        elif section.name == "mixed":
            part = _mixed(n, rate, rng)
        else:  # silence, tail
            continue
        out[section.start:section.start + n] = part
    out[clicks] = 1.0
    return (10 ** (level_db / 20) * out / np.max(np.abs(out))).astype(np.float32)
