"""The capture signal: what `ampemu capture` plays into the device (`--signal FILE` writes it for a DAW).

A model learns the device from what it hears in the capture, so the signal is mostly guitar playing
as a real DI holds it (its level distribution, spectrum, crest factor, note density and silences
match the shared clean DI take's: docs/capture.md), and a little beyond, in sections (shares of the
time, docs/capture.md has the reasons):

    silence   the return's noise floor (the model learns to stay quiet)
    sweeps    exponential sine sweeps 80 Hz - 8 kHz at three levels (each frequency alone)
    notes     lead lines in a scale (steps, leaps, runs, double stops, bends, slides, vibrato), four dynamics
    chords    strummed chords (power, major, minor, open voicings), down and up strokes, chokes, chucks
    mutes     palm-muted chugs and riffs on the low strings with open accents, four dynamics
    noise     pink noise through the pickup filter at five levels (dense, every frequency at once)
    mixed     phrases of all three styles, each at its own dynamic (the training split's validation
              and test come from the end of a capture, so they grade on playing)
    tail      silence while the device rings out

Every phrase is played on its own guitar (`Guitar`: pickup position, resonance, wiring). Notes are
Karplus-Strong plucked strings (`pluck`) picked like real strings and heard as a magnetic pickup
hears them (`_string`: the string's speed at the pickup, a bright attack and a warm sustain).
Between sections, in silence, sits a single-sample click at the signal's peak level;
`click_positions` says where, so the alignment of every take (and later of any capture made with
this signal) can be checked. Same seconds, rate and level: same samples, on every machine (a fixed
seed). Numpy only: it is generated on the pedal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.errors import AmpemuError

SIGNAL_VERSION = 2  # bump when the samples for given (seconds, rate, level) change
SEED = 18
DEFAULT_SECONDS = 180.0
MIN_SECONDS = 2.0
MAX_SECONDS = 1800.0
DEFAULT_LEVEL_DB = -6.0  # peak, dBFS: a typical DI's peak (the shared captures' DI peaks at 0.5)

# (section, share of the time left after the click slots)
SECTIONS = (("silence", 0.03), ("sweeps", 0.03), ("notes", 0.20), ("chords", 0.15), ("mutes", 0.13),
            ("noise", 0.04), ("mixed", 0.39), ("tail", 0.03))
DYNAMICS_DB = (-18.0, -12.0, -6.0, 0.0)  # playing sections: four sub-blocks, soft to hard (loudness, see below)
# the loudness (RMS while playing, dBFS before the final scaling) of playing at dynamic 0 dB: set so the
# 50 ms RMS of the whole signal spreads as the shared DI take's does (percentiles 25/50/75/90 about
# 34/20/11/6 dB under the peak there)
LOUDNESS_DB = -12.0
SWEEP_LEVELS_DB = (-30.0, -20.0, -10.0)  # a sine is loud for its peak: these sit at the playing's RMS
NOISE_LEVELS_DB = (-40.0, -32.0, -24.0, -16.0, -8.0)  # peaks; noise RMS is 13 dB under its peak
SWEEP_HZ = (80.0, 8000.0)  # past a DI's 82 Hz .. 5 kHz: what a device does to a brighter pick or pickup
# the noise section's pickup (each phrase's guitar has its own, `Guitar`): a magnetic pickup into a cable,
# a resonant second-order low-pass, and a second-order 80 Hz high-pass (nothing under the low E string)
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
          grit: float = 0.0, width: float = 0.0) -> np.ndarray:
    """A plucked string (Karplus-Strong): a burst one period long circulating in a delay line,
    y[t] = burst[t] + d/2 * (y[t-P] + y[t-P-1]), d = damping ** (440 / freq) (high notes ring shorter
    per period, like real strings). The burst is white noise (the classic, bright), or with `position`
    the string's shape when pulled aside at that fraction of its length (harmonics falling 12 dB per
    octave with the pick position's notches, as on a real string) plus `grit` of noise (the pick's
    scrape), its corners rounded over `width` of the string (a pick or a finger is not a point: a wider
    one is darker). `smoothing` two-point averages of the burst: a softer, darker pick."""
    period = max(2, int(round(rate / freq)))
    n = int(seconds * rate)
    if position is None:
        burst = rng.uniform(-1, 1, period)
    else:
        k = np.arange(period) / period
        shape = np.where(k < position, k / position, (1.0 - k) / (1.0 - position))
        # the shape starts and ends at 0, where the string rests (no step for a velocity pickup to hear as a
        # click); its mean is a slow DC, no sound
        burst = shape + grit * rng.uniform(-1, 1, period)
        span = min(int(round(width * period)), period)
        if span > 1:  # a circular moving average: the string is a loop in the delay line
            burst = np.convolve(np.concatenate([burst[-span:], burst]), np.ones(span) / span)[span:span + period]
    for _ in range(smoothing):
        burst[1:] = 0.5 * (burst[1:] + burst[:-1])
        burst[0] *= 0.5
    feedback = 0.5 * damping ** (440.0 / freq)
    line = np.zeros(period + 1 + n)  # period + 1 leading zeros: y[t - P - 1] exists for every t
    offset = period + 1
    line[offset:offset + min(period, n)] = burst[:n]
    if position is not None:  # a shape is a loop: before its first sample comes its last (y[P] reads it),
        line[offset - 1] = burst[-1]  # not the silence before the pluck (a step a velocity pickup hears)
    for start in range(period, n, period):  # a period at a time: each sample needs only earlier periods
        stop = min(start + period, n)
        line[offset + start:offset + stop] += feedback * (line[offset + start - period:offset + stop - period]
                                                          + line[offset + start - period - 1:offset + stop - period - 1])
    return velocity * line[offset:]


def _midi_hz(note: int) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


CHORD_SHAPES = ((0, 7, 12), (0, 7, 12, 19), (0, 4, 7, 12, 16, 19), (0, 3, 7, 12, 15, 19), (0, 5, 10, 15, 19, 24),
                (0, 7, 10, 16), (0, 4, 10, 14))  # power, power + fifth, major, minor, open fourths, 7th, 9th
SCALES = ((0, 3, 5, 7, 10), (0, 3, 5, 6, 7, 10), (0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10))  # pentatonic, blues, major, minor


@dataclass(frozen=True)
class Guitar:
    """The instrument of one phrase: where its pickup sits, how its pickup and cable filter, its wiring."""
    pickup_at: float  # pickup's distance from the bridge, a fraction of the string (bridge 0.06 .. neck 0.27)
    resonance_hz: float  # the pickup's inductance against the cable's capacitance
    q: float
    polarity: float

    @staticmethod
    def pick(rng: np.random.Generator) -> "Guitar":
        return Guitar(float(rng.uniform(0.06, 0.27)), float(rng.uniform(1500.0, 3500.0)), float(rng.uniform(0.7, 1.8)),
                      float(rng.choice([-1.0, 1.0])))


def _sustain_damping(decay_db_s: float) -> float:
    """`pluck`'s damping for a string whose fundamental decays `decay_db_s` dB per second
    (its loss per period is damping ** (440 / f), so per second damping ** 440)."""
    return 10 ** (decay_db_s / (20 * 440.0))


def _pitch_curve(n: int, rate: int, rng: np.random.Generator) -> np.ndarray:
    """A fretting hand's pitch over `n` frames, as a ratio to the fretted note: a bend (up, or a
    pre-bend released), a vibrato, or a slide across frets."""
    t = np.arange(n) / rate
    kind = rng.integers(4)
    if kind < 2:  # bend up 1-3 semitones (kind 0), or a pre-bent note let down (kind 1)
        at, rise = rng.uniform(0.03, 0.25), rng.uniform(0.06, 0.25)
        ramp = np.clip((t - at) / rise, 0.0, 1.0)
        ramp = ramp * ramp * (3 - 2 * ramp)  # a smooth push, no step
        semitones = float(rng.integers(1, 4)) * (ramp if kind == 0 else 1.0 - ramp)
    elif kind == 2:  # vibrato, growing in after the attack
        depth, speed = rng.uniform(0.15, 0.6), rng.uniform(4.5, 7.0)
        semitones = depth * np.sin(2 * np.pi * speed * t) * np.clip((t - 0.1) / 0.3, 0.0, 1.0)
    else:  # a slide up or down 2-7 frets, one fret at a time
        frets, at, span = int(rng.integers(2, 8)), rng.uniform(0.05, 0.3), rng.uniform(0.05, 0.25)
        semitones = float(rng.choice([-1.0, 1.0])) * np.floor(frets * np.clip((t - at) / span, 0.0, 1.0))
    return 2.0 ** (semitones / 12.0)


def _centred_mean(x: np.ndarray, half: int) -> np.ndarray:
    """Moving average over 2 * half + 1 samples centred on each (no delay), the ends zero-padded."""
    c = np.concatenate([[0.0], np.cumsum(np.concatenate([np.zeros(half), x, np.zeros(half)]))])
    return (c[2 * half + 1:] - c[:-2 * half - 1]) / (2 * half + 1)


def _string(note: int, seconds: float, rate: int, velocity: float, rng: np.random.Generator, guitar: Guitar, *,
            decay_db_s: float, smoothing: int, release_s: float, attack_s: float, bend: bool = False) -> np.ndarray:
    """One string as its pickup hears it: a `pluck` (its displacement) picked between 10 and 30 % of the
    string by a pick 8-20 % of it wide, times `smoothing` (soft picks and palms are wider: darker);
    heard as velocity (a magnetic pickup's voltage follows the string's speed: harmonics fall 6 dB per
    octave from the pick's shape, not 12) at the pickup's place (the comb of the wave and its
    reflection from the bridge, `pickup_at` of a period later); its harmonics above about the fourth
    die within `attack_s` (a real string's losses grow with frequency, a delay line's two-point
    average barely does), so the attack is bright and the sustain warm; optionally bent, then
    released by the fretting hand over `release_s`."""
    freq = _midi_hz(note)
    n = int(seconds * rate)
    pitch = _pitch_curve(n, rate, rng) if bend else None
    longest = n if pitch is None else int(np.ceil(np.sum(pitch))) + 2
    period = max(2, int(round(rate / freq)))
    # the pick's scrape: noise in the shape, small against the shape's slope (about 1 / period per sample)
    y = pluck(freq, longest / rate + 2.0 / rate, rate, 1.0, rng, _sustain_damping(decay_db_s), 0,
              position=float(rng.uniform(0.1, 0.3)), grit=0.5 * velocity / period,
              width=float(rng.uniform(0.08, 0.2)) * smoothing)
    y = np.diff(y, prepend=y[0]) * (rate / (2 * np.pi * freq))  # velocity (still before the release), fundamental kept
    lag = max(1, int(round(guitar.pickup_at * period)))
    y[lag:] -= y[:-lag].copy()
    y /= 2 * np.sin(np.pi * lag / period)  # the comb's gain at the fundamental
    body = _centred_mean(_centred_mean(y, period // 8), period // 14)  # about the first four harmonics
    y = body + (y - body) * np.exp(-np.arange(y.size) / (attack_s * rate))
    if pitch is not None:
        y = np.interp(np.cumsum(pitch) - pitch[0], np.arange(y.size), y)
    y = velocity * y[:n]
    tail = min(max(2, int(release_s * rate)), y.size)
    y[y.size - tail:] *= np.linspace(1.0, 0.0, tail)
    return y


class _Phrase:
    """A phrase being played: strings added at frames, all heard through one guitar."""

    def __init__(self, length: int, played: int, rate: int, rng: np.random.Generator):
        self.out, self.rate, self.rng = np.zeros(length), rate, rng
        self.played = played  # no string is picked after this frame: the rest is the strings ringing out
        self.guitar = Guitar.pick(rng)
        self.sign = 1.0  # the pick's direction: a downstroke pulls the string one way, an upstroke the other

    def strike(self, at: int, notes, ring: float, velocity: float, *, strum_s: float = 0.0, decay_db_s=None,
               smoothing: int = 1, release_s: float = 0.02, attack_s: float | None = None, bend: bool = False) -> None:
        for k, note in enumerate(notes):
            start = at + int(k * strum_s * self.rate)
            if start >= self.out.size:
                return
            decay = decay_db_s if decay_db_s is not None else self.rng.uniform(-12.0, -1.5) - 0.1 * (note - 40)
            tone = _string(note, min(ring, (self.out.size - start) / self.rate), self.rate,
                           velocity * self.rng.uniform(0.8, 1.0), self.rng, self.guitar, decay_db_s=decay,
                           smoothing=smoothing, release_s=release_s, bend=bend and k == 0,
                           attack_s=attack_s or float(self.rng.uniform(0.01, 0.06)))
            self.out[start:start + tone.size] += self.sign * self.guitar.polarity * tone

    def heard(self) -> np.ndarray:
        return _pickup(_faded(self.out, self.rate), self.rate, self.guitar)


def _lead(p: _Phrase, beat: float, velocity: float) -> None:
    """Single notes in a scale: steps and leaps, runs, double stops, bends, slides, vibrato, rests."""
    rng, rate = p.rng, p.rate
    scale = SCALES[int(rng.integers(len(SCALES)))]
    key = int(rng.integers(40, 52))
    degrees = [key + 12 * octave + step for octave in range(5) for step in scale if key + 12 * octave + step <= 88]
    index = int(rng.integers(len(degrees)))
    t = 0
    while t < p.played:
        step = beat * float(rng.choice([0.25, 0.25, 0.5, 0.5, 0.5, 1.0, 1.0, 1.5, 2.0, 1 / 3]))
        index = int(np.clip(index + rng.choice([-2, -1, -1, 1, 1, 2, int(rng.integers(-5, 6))]), 0, len(degrees) - 1))
        notes = [degrees[index]]
        if rng.random() < 0.15:  # a double stop
            notes.append(notes[0] + int(rng.choice([3, 4, 5, 7, 12])))
        if rng.random() > 0.08:  # else a rest: the last note rings on
            accent = 1.0 if rng.random() < 0.2 else float(rng.uniform(0.35, 0.85))
            p.strike(t, notes, step * rng.uniform(0.9, 2.5), velocity * accent, smoothing=1 + int(accent < 0.6),
                     release_s=float(rng.uniform(0.005, 0.06)), bend=step >= 0.2 and rng.random() < 0.35)
            p.sign = -p.sign if rng.random() < 0.8 else p.sign  # alternate picking, mostly
        t += int(step * rate)


def _rhythm(p: _Phrase, beat: float, velocity: float) -> None:
    """Strummed chords: down and up strokes, ringing or choked, some damped strums ("chucks")."""
    rng, rate = p.rng, p.rate
    t, strums_left, notes = 0, 0, []
    while t < p.played:
        if strums_left == 0:
            root = int(rng.integers(40, 58))
            notes = [root + i for i in CHORD_SHAPES[int(rng.integers(len(CHORD_SHAPES)))]]
            strums_left = int(rng.integers(1, 6))
        strums_left -= 1
        step = beat * float(rng.choice([0.5, 0.5, 1.0, 1.0, 2.0, 4.0]))
        down = p.sign > 0
        voiced = notes if down else notes[::-1][:int(rng.integers(3, len(notes) + 1))]  # upstrokes: the top strings
        strum = float(rng.uniform(0.004, 0.03))
        if rng.random() < 0.12:  # a chuck: the strings damped by both hands, all pick and no note
            p.strike(t, voiced, 0.04, velocity * rng.uniform(0.5, 1.0), strum_s=0.003, decay_db_s=-400.0, smoothing=3,
                     release_s=0.01, attack_s=0.01)
        elif rng.random() > 0.06:
            accent = 1.0 if rng.random() < 0.3 else float(rng.uniform(0.4, 0.85)) * (1.0 if down else 0.8)
            p.strike(t, voiced, step * rng.uniform(0.85, 1.6), velocity * accent, strum_s=strum,
                     smoothing=1 + int(accent < 0.6), release_s=float(rng.uniform(0.01, 0.08)))
        p.sign = -p.sign
        t += int(step * rate)


def _chugs(p: _Phrase, beat: float, velocity: float) -> None:
    """Palm mutes: low notes and fifths damped at the bridge (short, dark, fast decay), with open accents,
    and muted single-note lines a little higher."""
    rng, rate = p.rng, p.rate
    root = int(rng.integers(40, 52))
    line = rng.random() < 0.35  # a muted riff across notes rather than chugs on one
    t = 0
    while t < p.played:
        step = beat * float(rng.choice([0.25, 0.25, 0.5, 0.5, 0.75, 1.0]))
        note = root + (int(rng.choice([0, 0, 2, 3, 5, 7, 10, 12])) if line else 0)
        if rng.random() < 0.12:  # an open accent
            p.strike(t, [note, note + 7, note + 12], step * rng.uniform(1.0, 3.0), velocity, strum_s=0.006,
                     release_s=float(rng.uniform(0.01, 0.05)))
        elif rng.random() > 0.06:
            notes = [note] if line or rng.random() < 0.4 else [note, note + 7]
            p.strike(t, notes, min(step, 0.3) * rng.uniform(0.8, 1.3), velocity * rng.uniform(0.5, 1.0), strum_s=0.003,
                     decay_db_s=float(rng.uniform(-160.0, -40.0)), smoothing=int(rng.integers(2, 5)), release_s=0.01,
                     attack_s=float(rng.uniform(0.005, 0.03)))  # the palm takes the highs first
        p.sign = -p.sign if rng.random() < 0.7 else p.sign
        t += int(step * rate)


STYLES = {"notes": _lead, "chords": _rhythm, "mutes": _chugs}


def _playing(style: str, length: int, rate: int, rng: np.random.Generator) -> np.ndarray:
    """`length` frames of one playing style: phrases of 1.5-5 s, each on its own guitar at its own tempo,
    picking strength varied per note, with a pause between some (the strings ring out into it)."""
    out = np.zeros(length)
    t = 0
    while t < length:
        n = min(int(rng.uniform(1.5, 5.0) * rate), length - t)
        p = _Phrase(n, n - (int(rng.uniform(0.2, 0.6) * n) if rng.random() < 0.3 else 0), rate, rng)
        STYLES[style](p, 60.0 / rng.uniform(70.0, 170.0), float(rng.uniform(0.6, 1.0)))
        out[t:t + n] = p.heard()
        t += n
    return out


def _pickup(x: np.ndarray, rate: int, guitar: Guitar | None = None) -> np.ndarray:
    """`x` as a guitar pickup and its cable shape it (magnitude only, applied in the frequency domain)."""
    size = 1 << int(np.ceil(np.log2(max(x.size, 2))))  # a fast FFT size (the ends are faded silence)
    f = np.fft.rfftfreq(size, 1.0 / rate)
    ratio = f / (guitar.resonance_hz if guitar else PICKUP_HZ)
    lowpass = 1.0 / np.sqrt((1.0 - ratio ** 2) ** 2 + (ratio / (guitar.q if guitar else PICKUP_Q)) ** 2)
    highpass = f ** 2 / (f ** 2 + PICKUP_HIGHPASS_HZ ** 2)
    return np.fft.irfft(np.fft.rfft(x, size) * lowpass * highpass, size)[:x.size]


def _loudness_to(x: np.ndarray, level_db: float, rate: int, capped: bool = True) -> np.ndarray:
    """`x` scaled so its playing (50 ms frames within 40 dB of its loudest) has an RMS of `level_db`
    relative to LOUDNESS_DB (dynamics are how loud one plays; a pickup's peaks, a pluck's first
    periods, stand 10-20 dB over that, more for a bright pick than a soft one, as in a real DI),
    or, `capped`, less where that would take a peak over full scale (an interface's gain is set for the
    hardest hit)."""
    frame = max(1, rate // 20)
    rms = np.sqrt(np.mean(x[:x.size // frame * frame].reshape(-1, frame) ** 2, axis=1))
    if not rms.size or rms.max() <= 0:
        return x
    loud = np.sqrt(np.mean(rms[rms > rms.max() * 10 ** (-40 / 20)] ** 2))
    gain = 10 ** ((LOUDNESS_DB + level_db) / 20) / loud
    return x * (min(gain, 1.0 / np.max(np.abs(x))) if capped else gain)


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
        out[a:b] = _loudness_to(_playing(style, b - a, rate, rng), level, rate, capped=False)
    return out / max(1.0, np.max(np.abs(out)))  # the hardest block's peak at most full scale, 6 dB steps kept


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
        n = min(int(rng.uniform(1.5, 5.0) * rate), length - t)
        style = ("notes", "chords", "mutes")[int(rng.integers(3))]
        out[t:t + n] = _loudness_to(_playing(style, n, rate, rng), float(rng.uniform(-24.0, 0.0)), rate)
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
