"""`--slim auto`: play the largest size of a slimmable NAM model that fits this machine's period.

NAM's containers (A2-Lite + A2-Full) and slimmable WaveNets carry several sizes in one file. At load,
each size is timed for a short burst of blocks at the running period, largest first, and the first
whose p99 block time stays under a share of the period (default 40 %) plays. The rest of the period
is headroom for the OS, JACK and the crossfades of preset switches.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine import families
from engine.models import load_model
from engine.streaming import StreamingModel

DEFAULT_BUDGET = 0.4  # share of the period the model's p99 block time may take
BURST_BLOCKS = 300


@dataclass
class SlimChoice:
    size: float | None  # None: not a slimmable model (nothing to choose)
    model: StreamingModel
    reason: str


def candidate_sizes(path) -> list[float]:
    """One size per distinct submodel or width of a slimmable model, largest first; [] for other models."""
    if not any(f.sizes for f in families.families() if f.suffix == Path(path).suffix.lower()):
        return []  # no need to parse a file of a format that is never slimmable
    return families.slim_sizes(*families.read(path))


def p99_block_seconds(model: StreamingModel, period: int, timer=time.perf_counter_ns, blocks: int = BURST_BLOCKS) -> float:
    """p99 time of one `period`-frame block on noise, from the model's reset state (reset again after)."""
    x = (0.3 * np.random.default_rng(0).standard_normal(period * blocks)).astype(np.float32)
    y = np.empty(period, np.float32)
    times = np.empty(blocks)
    for b in range(blocks):
        start = timer()
        model.process(x[b * period:(b + 1) * period], y)
        times[b] = (timer() - start) * 1e-9
    model.reset()
    return float(np.percentile(times, 99))


def choose_slim(path, period: int, rate: int, budget: float = DEFAULT_BUDGET, fast: bool = False,
                timer=time.perf_counter_ns) -> SlimChoice:
    sizes = candidate_sizes(path)
    if not sizes:
        return SlimChoice(None, load_model(path, fast=fast), "not a slimmable model")
    allowed = budget * period / rate
    tried = []
    for size in sizes:
        model = load_model(path, fast=fast, slim=size)
        p99 = p99_block_seconds(model, period, timer)
        tried.append(f"size {size:g}: p99 {1e6 * p99:.0f} us")
        if p99 <= allowed:
            return SlimChoice(size, model, f"largest size whose p99 fits {budget:.0%} of the {period}-frame "
                                           f"period ({1e6 * allowed:.0f} us); " + ", ".join(tried))
    return SlimChoice(sizes[-1], model, f"no size fits {budget:.0%} of the period ({1e6 * allowed:.0f} us): "
                                        f"playing the smallest; " + ", ".join(tried))


def load_for_playing(path, slim, host_settings, fast: bool = False, say=print) -> StreamingModel:
    """The model a host plays: `slim` a size, None (the file's default) or "auto": timed at the
    host's (period, rate), which `host_settings()` returns; it is asked only for slimmable files."""
    if slim != "auto" or not candidate_sizes(path):
        return load_model(path, fast=fast, slim=None if slim == "auto" else slim)
    period, rate = host_settings()
    choice = choose_slim(path, period, rate, fast=fast)
    if choice.size is not None:
        say(f"{Path(path).name}: --slim auto chose size {choice.size:g} ({choice.reason})")
    return choice.model
