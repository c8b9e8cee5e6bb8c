"""WAV in and out for the engine and for training: mono float32, clear one-line errors."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from engine.atomic import replacing
from engine.errors import AmpemuError


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def read_wav(path, channel: int | None = None) -> tuple[np.ndarray, int]:
    """Read any WAV soundfile reads (float or int) as mono float32 in [-1, 1], and its rate.

    Stereo: the first channel with a warning, or `channel` (0-based) when given."""
    path = Path(path)
    if not path.exists():
        raise AmpemuError(f"{path}: no such file")
    try:
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
    if path.parent and not path.parent.exists():
        raise AmpemuError(f"{path}: the folder {path.parent} does not exist")
    with replacing(path, suffix=".wav") as tmp:
        sf.write(str(tmp), np.asarray(audio, dtype=np.float32), rate, subtype="FLOAT", format="WAV")
    return path
