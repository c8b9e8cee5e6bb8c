"""One entry point for every kernel family, callable from Python or from a numba cfunc.

A model is four flat arrays (layout, weights, state, cursor); layout[0] names its family. Containers
and the real-time callback call `process_block` and never need to know which family runs.

Compiling is the first start's cost (minutes), so code that plays known models compiles only their
families: `for_families({id})` makes the entry points with the other families' branches pruned before
numba types them (their kernels are never compiled); the real-time callbacks do the same for a bank's
families (engine/realtime/block.py). `process_block` is the all-family one. The entry points are numba
closures over which families are compiled in (three bools, `flags`); numba caches each set separately
(its cache key hashes the closure's values, so a closure must hold plain values: a dispatcher in it
would be pickled with its per-process id and never hit the cache).

Every compiled function that calls a kernel through separately compiled functions links their code
in and has LLVM optimise and generate machine code for all of it again: each level of such calls
costs about as much as compiling the kernel once more. So the entry points call the kernel directly
(the branches are inlined at numba's IR level), `process_block` inlines into compiled callers, and a
single family's `process_block` is that family's own `process`.
"""

from __future__ import annotations

import functools
from typing import Callable, NamedTuple

import numpy as np
from numba import njit

from engine.kernels import chain, gated_wavenet, nam_lstm, nam_wavenet
from engine.realtime.native import now_ns, thread_cpu_ns

GATED_WAVENET, NAM_WAVENET, NAM_LSTM = gated_wavenet.FAMILY, nam_wavenet.FAMILY, nam_lstm.FAMILY
ALL = frozenset((GATED_WAVENET, NAM_WAVENET, NAM_LSTM))
_PROCESS = {GATED_WAVENET: gated_wavenet.process, NAM_WAVENET: nam_wavenet.process, NAM_LSTM: nam_lstm.process}


@njit(inline="always", error_model="numpy")
def model_block(gated, wavenet, lstm, layout, weights, state, cursor, x, y):
    """The branch of layout[0]'s family; `gated`, `wavenet`, `lstm` are compile-time constants (a
    closure's values), so numba prunes a family's branch, kernel and all, when it is not compiled in."""
    family = layout[0]
    if gated and family == GATED_WAVENET:
        gated_wavenet.process(layout, weights, state, cursor, x, y)
    elif wavenet and family == NAM_WAVENET:
        nam_wavenet.process(layout, weights, state, cursor, x, y)
    elif lstm and family == NAM_LSTM:
        nam_lstm.process(layout, weights, state, cursor, x, y)
    else:
        y[:] = 0.0  # a family not compiled in: silence rather than garbage (never reached: callers compile theirs)


class Kernels(NamedTuple):
    process_block: Callable  # (layout, weights, state, cursor, x, y): one block of any length
    play_in_blocks: Callable  # (model's 4 arrays, chain's 5 arrays or NO_CHAIN's, x, y, block)
    timed_blocks: Callable  # (model's 4 arrays, x, y, block, times, budget_ns) -> blocks timed


def flags(families: frozenset) -> tuple[bool, bool, bool]:
    """`model_block`'s (gated, wavenet, lstm) for these kernel ids; a closure over them prunes the rest."""
    unknown = set(families) - ALL
    if unknown:
        raise ValueError(f"no kernel for family ids {sorted(unknown)}")
    return GATED_WAVENET in families, NAM_WAVENET in families, NAM_LSTM in families


def of_models(models) -> frozenset:
    """The kernel ids of these models (StreamingModels: layout[0])."""
    return frozenset(int(model.layout[0]) for model in models)


@functools.cache
def for_families(families: frozenset) -> Kernels:
    """The entry points compiled for models of these kernel ids only (others play silence)."""
    gated, wavenet, lstm = flags(families)

    @njit(inline="always", cache=True, error_model="numpy")
    def process_block(layout, weights, state, cursor, x, y):
        model_block(gated, wavenet, lstm, layout, weights, state, cursor, x, y)

    @njit(cache=True, error_model="numpy")
    def play_in_blocks(layout, weights, state, cursor, c_layout, c_weights, c_state, c_fstate, params, x, y, block):
        """A model and its chain (none: NO_CHAIN's empty arrays) over a long signal in consecutive
        `block`-sized calls, as a host runs them, without a Python call per block."""
        chained = c_layout.shape[0] > 0
        for start in range(0, y.shape[0], block):
            stop = min(start + block, y.shape[0])
            model_block(gated, wavenet, lstm, layout, weights, state, cursor, x[start:stop], y[start:stop])
            if chained:
                chain.process(c_layout, c_weights, c_state, c_fstate, params, x[start:stop], y[start:stop])

    @njit(cache=True, error_model="numpy")
    def timed_blocks(layout, weights, state, cursor, x, y, block, times, budget_ns):
        """Consecutive blocks through the model as a host's callback calls them, each timed: times[0]
        wall, times[1] this thread's CPU time (ns). Stops early past budget_ns of wall time; returns
        the number of blocks timed (`ampemu bench`, `--slim auto`)."""
        timespec = np.zeros(3, np.int64)
        start = now_ns(timespec)
        for b in range(times.shape[1]):
            cpu = thread_cpu_ns(timespec)
            wall = now_ns(timespec)
            model_block(gated, wavenet, lstm, layout, weights, state, cursor, x[b * block:(b + 1) * block],
                         y[b * block:(b + 1) * block])
            end = now_ns(timespec)
            times[1, b] = thread_cpu_ns(timespec) - cpu
            times[0, b] = end - wall
            if end - start > budget_ns:
                return b + 1
        return times.shape[1]

    if len(families) == 1:  # called from Python: the family's own function, no wrapper to compile
        process_block = _PROCESS[next(iter(families))]
    return Kernels(process_block, play_in_blocks, timed_blocks)


def for_model(layout: np.ndarray) -> Kernels:
    """The entry points a model of this layout needs, and no other family's."""
    return for_families(frozenset((int(layout[0]),)))


# play_in_blocks' chain arguments for a bare model (the dtypes of a chain's arrays: one specialisation)
NO_CHAIN = (np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros(0, np.float32), np.zeros(0, np.float64),
            np.zeros(chain.N_PARAMS, np.float64))

process_block = for_families(ALL).process_block  # any model (tools, and a resampled model's offline render)
