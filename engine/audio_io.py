"""WAV in and out for the engine and for training: mono float32, clear one-line errors."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from engine.atomic import check_writable, replacing
from engine.errors import AmpemuError


MAX_SAMPLES = 100_000_000  # 400 MB as float32: a long take fits, a file that would exhaust a Pi's memory does not


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def read_wav(path, channel: int | None = None) -> tuple[np.ndarray, int]:
    """Read any WAV soundfile reads (float or int) as mono float32 in [-1, 1], and its rate.

    Stereo: the first channel with a warning, or `channel` (0-based) when given."""
    path = Path(path)
    if not path.exists():
        raise AmpemuError(f"{path}: no such file")
    if not path.is_file():  # a FIFO or device would block or never end; a folder is no audio
        raise AmpemuError(f"{path}: is not a regular file (a folder, pipe or device); give the audio file itself")
    try:
        info = sf.info(str(path))
        if info.frames * info.channels > MAX_SAMPLES:
            raise AmpemuError(f"{path}: {info.frames} frames x {info.channels} channels is more than ampemu reads at "
                              f"once ({MAX_SAMPLES // 48000 // 60} min of mono at 48 kHz); cut the file into parts")
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AmpemuError(f"{path}: not a readable audio file ({str(exc).splitlines()[0][:120]})") from None
    if data.shape[0] == 0:
        raise AmpemuError(f"{path}: the file holds no samples")
    channels = data.shape[1]
    if channel is None:
        if channels > 1:
            warn(f"{path}: {channels} channels, using the first (pick another with --channel)")
        channel = 0
    elif not 0 <= channel < channels:
        raise AmpemuError(f"{path}: has {channels} channel(s), --channel {channel} does not exist (0-based)")
    mono = np.ascontiguousarray(data[:, channel])
    if not np.all(np.isfinite(mono)):
        raise AmpemuError(f"{path}: contains NaN or infinite samples; re-export the audio")
    return mono, int(rate)


def write_wav(path, audio: np.ndarray, rate: int, protect: tuple = ()) -> Path:
    """Write 32-bit float mono WAV atomically; refuse to overwrite any path in `protect` (the inputs)."""
    path = Path(path)
    for other in protect:
        if Path(other).exists() and path.exists() and os.path.samefile(path, other):
            raise AmpemuError(f"{path}: refusing to overwrite the input file; choose another output name")
    check_writable(path, "audio file")
    with replacing(path, suffix=".wav") as tmp:
        sf.write(str(tmp), np.asarray(audio, dtype=np.float32), rate, subtype="FLOAT", format="WAV")
    return path
