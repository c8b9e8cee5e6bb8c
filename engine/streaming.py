"""The streaming interface every model family implements: state arrays, process a block, reset, prewarm.

`StreamingModel` owns the four flat arrays of a kernel (layout, weights, state, cursor) and calls
the compiled entry points of its own family (engine/kernels/dispatch.py: no other family's kernel is
compiled for it). The real-time host reads the same arrays through pointers, so nothing here is
needed inside the audio callback.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.kernels import resample
from engine.kernels.dispatch import NO_CHAIN, Kernels, for_model


def run_zeros(process, samples: int) -> None:
    """Feed `samples` zeros through `process(x, y)` (a model's prewarm), in blocks of at most 4096."""
    if samples <= 0:
        return
    zeros = np.zeros(min(samples, 4096), np.float32)
    out = np.empty_like(zeros)
    for start in range(0, samples, zeros.size):
        step = min(zeros.size, samples - start)
        process(zeros[:step], out[:step])


@dataclass
class StreamingModel:
    layout: np.ndarray  # int64, read-only after build: family, sizes, offsets
    weights: np.ndarray  # float32 parameters
    state: np.ndarray  # float32 history buffers and scratch, zero after reset
    cursor: np.ndarray  # int64 write positions, zero after reset
    sample_rate: int
    receptive_field: int  # samples of input that reach one output sample
    prewarm_samples: int = 0  # zeros run through after reset (NAM's convention); 0 = zeroed state
    output_gain_db: float = 0.0  # gain a host applies after the kernel (e.g. WaveNetVA level_adjust)
    name: str = ""
    description: str = ""  # one line for people: architecture and size
    metadata: dict = field(default_factory=dict)
    level_db: float | None = None  # RMS dBFS on the standard guitar phrase, once measured (presets/loudness.py)
    chain: object = None  # engine.chain.chain.Chain played after the model (engine.chain.chain.attach), or None
    resampler: object = None  # engine.chain.resampler.Resampler: plays it at another rate (play_at), or None
    kernels: Kernels = field(init=False, repr=False)  # its family's compiled entry points

    def __post_init__(self):
        self.kernels = for_model(self.layout)
        self.warm_up()
        self.reset()

    def process(self, x: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
        """Process one block (float32, any length) through the model and its chain; return the output."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        if y is None:
            y = np.empty_like(x)
        if self.resampler is not None:
            self.process_in_blocks(x, y, max(x.size, 1))
            return y
        self.kernels.process_block(self.layout, self.weights, self.state, self.cursor, x, y)
        if self.chain is not None:
            self.chain.process(x, y)
        return y

    def process_in_blocks(self, x: np.ndarray, y: np.ndarray, block: int) -> None:
        """Process a long signal (model and chain) as consecutive `block`-sized calls, in one compiled loop
        (at the resampler's server rate when there is one)."""
        c = self.chain
        chain = NO_CHAIN if c is None else (c.layout, c.weights, c.state, c.fstate, c.params)
        if self.resampler is not None:
            r = self.resampler
            resample.play_in_blocks(r.layout, r.weights, r.state, r.cursor, self.layout, self.weights, self.state,
                                    self.cursor, *chain, c is not None, x, y, block)
            return
        self.kernels.play_in_blocks(self.layout, self.weights, self.state, self.cursor, *chain, x, y, block)

    def reset(self) -> None:
        """Forget all history, then prewarm the model (the state the first sample of a render sees);
        the chain starts from zero state (it needs no prewarm: no added latency, silence in, silence out)."""
        self.state[:] = 0.0
        self.cursor[:] = 0
        self.prewarm()
        if self.chain is not None:
            self.chain.reset()
        if self.resampler is not None:
            self.resampler.reset()

    def prewarm(self) -> None:
        run_zeros(self._model_only, self.prewarm_samples)

    def _model_only(self, x: np.ndarray, y: np.ndarray) -> None:
        self.kernels.process_block(self.layout, self.weights, self.state, self.cursor, x, y)

    def warm_up(self) -> None:
        """Compile (or load from numba's cache) with the exact argument types used later."""
        x = np.zeros(1, np.float32)
        self.kernels.process_block(self.layout, self.weights, self.state, self.cursor, x, np.empty_like(x))
        self.kernels.play_in_blocks(self.layout, self.weights, self.state, self.cursor, *NO_CHAIN, x,
                                    np.empty_like(x), 1)
