"""`--slim auto`: play the largest size of a slimmable NAM model that fits this machine's period.

NAM's containers (A2-Lite + A2-Full) and slimmable WaveNets carry several sizes in one file. At load,
each size is timed where it will play: consecutive `period`-frame blocks inside compiled code, as the
callback runs them (the model's `timed_blocks`), in this thread's CPU time. The real-time thread is
not preempted by other processes, so the time they take from the core must not count against a
size, and neither must a round they disturbed otherwise (caches, clock): of ROUNDS rounds the
quietest counts. A size's cost is the lowest round's p99 CPU time per block; the largest size whose
cost stays under a share of the period (default 40 %) plays. The rest of the period is headroom for
the OS, JACK, the signal chain and the crossfades of preset switches.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from engine import families
from engine.models import load_model
from engine.streaming import StreamingModel

DEFAULT_BUDGET = 0.4  # share of the period a size's p99 block time may take
ROUNDS, BURST_BLOCKS = 5, 200
ROUND_BUDGET_NS = 250_000_000  # wall time a round may take (a size far too slow ends its round early)


@dataclass
class SlimChoice:
    size: float | None  # None: not a slimmable model (nothing to choose)
    model: StreamingModel
    reason: str
    name: str = ""  # the size by name: "A2-Full (size 0.5)"


def candidate_sizes(path) -> list[float]:
    """One size per distinct submodel or width of a slimmable model, largest first; [] for other models."""
    if not any(f.sizes for f in families.families() if f.suffix == Path(path).suffix.lower()):
        return []  # no need to parse a file of a format that is never slimmable
    return families.slim_sizes(*families.read(path))


def cost_from_rounds(cpu_ns: list[np.ndarray]) -> float:
    """Seconds a block costs: the lowest of the rounds' p99 CPU times (each round: ns per block)."""
    return min(float(np.percentile(times, 99)) for times in cpu_ns if times.size) * 1e-9


def block_cost(model: StreamingModel, period: int) -> float:
    """What one `period`-frame block of `model` costs the real-time thread, in seconds (see the module
    docstring); the model is reset after."""
    x = (0.3 * np.random.default_rng(0).standard_normal(period * BURST_BLOCKS)).astype(np.float32)
    y = np.empty_like(x)
    rounds = []
    for _ in range(ROUNDS):
        times = np.zeros((2, BURST_BLOCKS), np.int64)
        model.reset()
        done = model.kernels.timed_blocks(model.layout, model.weights, model.state, model.cursor, x, y, period,
                                          times, ROUND_BUDGET_NS)
        rounds.append(times[1, :done])
    model.reset()
    return cost_from_rounds(rounds)


def choose_slim(path, period: int, rate: int, budget: float = DEFAULT_BUDGET, fast: bool = False,
                cost: Callable[[StreamingModel, int], float] = block_cost) -> SlimChoice:
    """The largest size of the model at `path` whose `cost(model, period)` fits `budget` of the period."""
    sizes = candidate_sizes(path)
    if not sizes:
        return SlimChoice(None, load_model(path, fast=fast), "not a slimmable model")
    family, parsed = families.read(path)
    allowed = budget * period / rate
    tried = []
    for size in sizes:
        name = families.size_name(family, parsed, size)
        model = load_model(path, fast=fast, slim=size)
        seconds = cost(model, period)
        tried.append(f"{name}: {1e6 * seconds:.0f} us")
        if seconds <= allowed:
            return SlimChoice(size, model, f"the largest size whose p99 block time fits {budget:.0%} of the "
                                           f"{period}-frame period ({1e6 * allowed:.0f} us); " + ", ".join(tried), name)
    return SlimChoice(sizes[-1], model, f"no size fits {budget:.0%} of the {period}-frame period "
                                        f"({1e6 * allowed:.0f} us): playing the smallest; " + ", ".join(tried), name)


def load_for_playing(path, slim, host_settings, fast: bool = False, say=print) -> StreamingModel:
    """The model a host plays: `slim` a size, None (the file's default) or "auto": timed at the
    host's (period, rate), which `host_settings()` returns; it is asked only for slimmable files."""
    if slim != "auto" or not candidate_sizes(path):
        return load_model(path, fast=fast, slim=None if slim == "auto" else slim)
    period, rate = host_settings()
    choice = choose_slim(path, period, rate, fast=fast)
    say(f"{Path(path).name}: --slim auto chose {choice.name} ({choice.reason})")
    return choice.model
