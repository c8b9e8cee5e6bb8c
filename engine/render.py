"""Offline render: a WAV file through a model, block by block, exactly as the real-time host runs it."""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from engine.streaming import StreamingModel


def render(model: StreamingModel, audio: np.ndarray, block: int = 64, progress: bool = False) -> np.ndarray:
    """Process `audio` from the model's reset state in blocks of `block` samples (last one shorter)."""
    if block < 1:
        raise ValueError("block size must be at least 1")
    model.reset()
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    out = np.empty_like(audio)
    # the kernel sees `block`-sized calls; Python only steps through big slices for the progress bar
    step = block * max(1, 65536 // block)
    with tqdm(total=audio.size, unit="smp", unit_scale=True, disable=not progress, desc="render") as bar:
        for start in range(0, audio.size, step):
            stop = min(start + step, audio.size)
            model.process_in_blocks(audio[start:stop], out[start:stop], block)
            bar.update(stop - start)
    return out
