"""`Resampler`: a model captured at one rate played on a server (or a WAV file) at another.

The compiled resampler is engine/kernels/resample.py; the callback runs it around the slot's model and
chain (engine/realtime/block.py), the offline render around the same calls (StreamingModel).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from engine.kernels import resample as kernel
from engine.realtime.channel import MAX_BLOCK  # server samples per call: the callback's largest block


@dataclass
class Resampler:
    layout: np.ndarray  # int64, read-only
    weights: np.ndarray  # float32 polyphase tables
    state: np.ndarray  # float32 histories and the model's buffers
    cursor: np.ndarray  # int64 phase counters
    server_rate: int
    model_rate: int
    latency: float  # server samples the two filters add

    def reset(self) -> None:
        self.state[:] = 0.0
        self.cursor[:] = 0

    def cpu_share(self, block: int, seconds: float = 0.5) -> float:
        """The resampler's own cost, both directions, as a share of one core (its CPU time over the
        audio time), timed on noise in `block`-sized calls."""
        x = np.random.default_rng(0).uniform(-0.5, 0.5, int(seconds * self.server_rate)).astype(np.float32)
        y = np.empty_like(x)
        started = time.thread_time()
        kernel.resample_in_blocks(self.layout, self.weights, self.state, self.cursor, x, y, block)
        used = time.thread_time() - started
        self.reset()
        return used / seconds

    def describe(self, block: int, host: str = "server") -> str:
        return (f"model {self.model_rate} Hz on a {self.server_rate} Hz {host}: resampling, "
                f"+{self.latency:.0f} samples latency, ~{100 * self.cpu_share(block):.1f}% CPU")


def build_resampler(server_rate: int, model_rate: int) -> Resampler:
    """ValueError (one line) for a ratio that needs too large a filter (e.g. 44100 against 44101)."""
    layout, weights, state, cursor, latency = kernel.build(server_rate, model_rate, MAX_BLOCK)
    resampler = Resampler(layout, weights, state, cursor, server_rate, model_rate, latency)
    x = np.zeros(1, np.float32)
    kernel.resample_in_blocks(layout, weights, state, cursor, x, x.copy(), 1)  # compile now, not in the callback
    resampler.reset()
    return resampler


def play_at(model, server_rate: int):
    """Make `model` play at `server_rate` (through a resampler when its own rate differs; none when
    equal) and return it, reset. ValueError for a ratio the resampler does not take."""
    model.resampler = None if model.sample_rate == server_rate else build_resampler(server_rate, model.sample_rate)
    model.reset()
    if model.resampler is not None:
        x = np.zeros(1, np.float32)
        model.process_in_blocks(x, x.copy(), 1)  # compile the resampled loop the offline render uses
        model.reset()
    return model
