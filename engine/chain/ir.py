"""Cabinet impulse responses: read a WAV, resample it once to the model's rate, describe it.

Resampling is numpy only (the Pi runtime carries no scipy): the IR, padded with zeros so the FFT's
wrap-around falls into silence, is band-limited interpolated in the frequency domain (its spectrum
truncated or zero-extended to the new length). An IR is short and this runs once at load.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from engine.audio_io import read_wav
from engine.errors import AmpemuError

MAX_SECONDS = 1.0
MAX_BYTES = 16 * 2 ** 20  # one second of 8 channels of 64-bit samples at 192 kHz is 12 MiB


@dataclass
class ImpulseResponse:
    samples: np.ndarray  # float64, at `rate`
    rate: int
    path: Path
    channels: int = 1  # in the file; the first is used

    @property
    def seconds(self) -> float:
        return self.samples.size / self.rate

    @property
    def peak_db(self) -> float:
        return 20.0 * np.log10(max(float(np.max(np.abs(self.samples))), 1e-12))

    @property
    def energy_db(self) -> float:
        """Gain on white noise (10 log10 of the sum of squares): 0 dB after normalisation."""
        return 10.0 * np.log10(max(float(np.sum(self.samples ** 2)), 1e-24))


def read_ir(path) -> ImpulseResponse:
    """The file's first channel at its own rate; one-line AmpemuError for anything unusable. Read like
    every audio file (engine.audio_io.read_wav: regular files only, decoding, NaN), after a size cap
    that keeps a huge file named as an IR from being read whole."""
    path = Path(path)
    if not path.exists():
        raise AmpemuError(f"{path}: no such impulse response file")
    if path.is_file() and path.stat().st_size > MAX_BYTES:
        raise AmpemuError(f"{path}: {path.stat().st_size} bytes, more than an impulse response of at most "
                          f"{MAX_SECONDS:g} s takes ({MAX_BYTES // 2 ** 20} MiB); trim it to the cabinet's response")
    samples, rate = read_wav(path, channel=0)
    ir = samples.astype(np.float64)
    if ir.size > MAX_SECONDS * rate:
        raise AmpemuError(f"{path}: the impulse response is {ir.size / rate:.2f} s long, the engine convolves at "
                          f"most {MAX_SECONDS:g} s; trim it (a cabinet's response is over in well under that)")
    if not np.any(ir):
        raise AmpemuError(f"{path}: the impulse response is all zeros (silence); use the cabinet's IR file")
    return ImpulseResponse(ir, rate, path, sf.info(str(path)).channels)


def resample(x: np.ndarray, source: int, target: int) -> np.ndarray:
    """x (float64) from `source` Hz to `target` Hz by band-limited interpolation (length scales too)."""
    if source == target:
        return x.copy()
    # a padded length whose image at the target rate is a whole number of samples: the new grid is
    # then exactly target / source (a rounded length would stretch time slightly)
    step = source // math.gcd(source, target)
    padded = -(-(2 * x.size + 64) // step) * step
    spectrum = np.fft.rfft(x, padded)
    length = padded * target // source
    bins = length // 2 + 1
    out = np.zeros(bins, np.complex128)
    keep = min(bins, spectrum.size)
    out[:keep] = spectrum[:keep]
    if length % 2 == 0 and keep == bins:  # the new Nyquist bin of a real signal is real
        out[-1] = out[-1].real
    y = np.fft.irfft(out, length) * (length / padded)
    return y[:int(round(x.size * target / source))]


def load_ir(path, rate: int, normalize: bool = False) -> ImpulseResponse:
    """The IR at `rate` (resampled once if the file's rate differs), optionally scaled to unit energy."""
    ir = read_ir(path)
    samples = resample(ir.samples, ir.rate, rate)
    if normalize:
        samples = samples / np.sqrt(np.sum(samples ** 2))
    return ImpulseResponse(samples, rate, ir.path, ir.channels)
