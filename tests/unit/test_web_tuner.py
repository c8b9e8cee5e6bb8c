"""The tuner's pitch detector on synthetic tones: within 1 cent on a steady note, across the range."""

import math

import numpy as np
import pytest

from engine.web.tuner import detect, note_of

RATE = 48000
WINDOW = 4096  # what the web page's tuner reads from the scope ring


def tone(hz: float, rate: int = RATE, harmonics=(1.0,), noise: float = 0.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(WINDOW) / rate
    phase = rng.uniform(0, 2 * np.pi, len(harmonics))
    x = sum(a * np.sin(2 * np.pi * hz * (h + 1) * t + p) for h, (a, p) in enumerate(zip(harmonics, phase)))
    return (0.3 * x / max(harmonics) + noise * rng.standard_normal(t.size)).astype(np.float32)


def cents_between(a: float, b: float) -> float:
    return 1200.0 * math.log2(a / b)


@pytest.mark.parametrize("rate", [44100, 48000])
@pytest.mark.parametrize("hz", [41.2, 82.41, 110.0, 146.83, 196.0, 246.94, 329.63, 440.0, 659.26, 1318.5])
def test_pure_tones_within_one_cent(hz, rate):
    pitch = detect(tone(hz, rate), rate)
    assert pitch is not None
    assert abs(cents_between(pitch.hz, hz)) < 1.0


@pytest.mark.parametrize("hz", [82.41 * 2 ** (13 / 1200), 110.0 * 2 ** (-27 / 1200), 196.0 * 2 ** (4 / 1200)])
def test_a_guitar_like_note_out_of_tune_reads_its_cents(hz):
    """Strong harmonics (a plucked string's second harmonic louder than the fundamental) and noise."""
    x = tone(hz, harmonics=(0.6, 1.0, 0.5, 0.3, 0.2), noise=0.01, seed=3)
    pitch = detect(x, RATE)
    assert pitch is not None and abs(cents_between(pitch.hz, hz)) < 1.0
    expected_note, expected_cents = note_of(hz)
    assert pitch.note == expected_note and abs(pitch.cents - expected_cents) < 1.0


def test_silence_and_noise_have_no_pitch():
    assert detect(np.zeros(WINDOW, np.float32), RATE) is None
    assert detect(1e-4 * tone(110.0), RATE) is None  # under -60 dBFS
    noise = np.random.default_rng(1).standard_normal(WINDOW).astype(np.float32) * 0.3
    assert detect(noise, RATE) is None
    assert detect(tone(110.0)[:1000], RATE) is None  # too short for the lowest note


def test_note_names():
    assert note_of(440.0) == ("A4", 0.0)
    name, cents = note_of(82.41)
    assert name == "E2" and abs(cents) < 0.1
    name, cents = note_of(440.0 * 2 ** (49 / 1200))
    assert name == "A4" and cents == pytest.approx(49.0)
