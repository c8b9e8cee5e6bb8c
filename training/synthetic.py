"""A deterministic built-in capture: a synthetic guitar DI and a reference overdrive written in numpy/scipy.

The DI is a plucked-string model (Karplus-Strong: a noise burst circulating in a damped delay line;
`pluck`, shared with the capture signal of engine/capture/signal.py), playing single notes, double stops and chords over the guitar's range
at varied picking strengths, with rests. The "device" is a typical overdrive pedal: a first-order
high-pass pre-emphasis, gain into an asymmetric soft clipper (tanh with a bias, so even harmonics
appear), a low-pass tone filter, a DC-blocking output capacitor and an output level. Same seed, same samples, on every machine.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from engine.capture.signal import pluck  # the capture signal's plucked string: one model for both


def guitar_di(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    """Peak-0.5 float32 DI: notes and chords from E2 (82 Hz) to E6, soft to hard, with gaps."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    out = np.zeros(n)
    t = 0.0
    while t < seconds - 0.1:
        length = float(rng.choice([0.125, 0.25, 0.5, 1.0, 2.0]))
        if rng.random() < 0.1:  # a rest
            t += length
            continue
        root = 40 + int(rng.integers(0, 37))  # MIDI E2..E5
        notes = [root] if rng.random() < 0.6 else [root, root + 7, root + 12][:int(rng.integers(2, 4))]
        velocity = float(rng.uniform(0.1, 1.0))
        start = int(t * rate)
        ring = min(length * 1.5, seconds - t)
        for k, note in enumerate(notes):
            offset = start + int(k * 0.012 * rate)  # strummed, not struck at once
            tone = pluck(440.0 * 2 ** ((note - 69) / 12), ring, rate, velocity, rng)[:max(0, n - offset)]
            out[offset:offset + tone.size] += tone
        t += length
    out += 1e-4 * rng.standard_normal(n)  # pickup hum floor, so silence is not digital zero
    return (0.5 * out / np.max(np.abs(out))).astype(np.float32)


def overdrive(x: np.ndarray, rate: int, drive_db: float = 24.0, tone_hz: float = 3000.0) -> np.ndarray:
    """The reference device: pre-emphasis, asymmetric soft clip, tone low-pass, output level."""
    b, a = signal.butter(1, 700.0, btype="highpass", fs=rate)
    pre = x + 2.0 * signal.lfilter(b, a, x)  # lift the mids and highs into the clipper, like a TS
    gain = 10 ** (drive_db / 20)
    bias = 0.3
    clipped = np.tanh(gain * pre + bias) - np.tanh(bias)  # asymmetric: even harmonics
    b, a = signal.butter(2, tone_hz, btype="lowpass", fs=rate)
    toned = signal.lfilter(b, a, clipped)
    b, a = signal.butter(1, 20.0, btype="highpass", fs=rate)  # the output coupling capacitor: no DC
    return (0.4 * signal.lfilter(b, a, toned)).astype(np.float32)


def demo_capture(seconds: float = 60.0, rate: int = 44100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    x = guitar_di(seconds, rate, seed)
    return x, overdrive(x.astype(np.float64), rate)
