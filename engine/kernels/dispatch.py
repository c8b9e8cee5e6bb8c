"""One entry point for every kernel family, callable from Python or from a numba cfunc.

A model is four flat arrays (layout, weights, state, cursor); layout[0] names its family. Containers
and the real-time callback call `process_block` and never need to know which family runs.
"""

from numba import njit

from engine.kernels import gated_wavenet, nam_lstm, nam_wavenet


@njit(cache=True, error_model="numpy")
def process_block(layout, weights, state, cursor, x, y):
    family = layout[0]
    if family == gated_wavenet.FAMILY:
        gated_wavenet.process(layout, weights, state, cursor, x, y)
    elif family == nam_wavenet.FAMILY:
        nam_wavenet.process(layout, weights, state, cursor, x, y)
    elif family == nam_lstm.FAMILY:
        nam_lstm.process(layout, weights, state, cursor, x, y)
    else:
        y[:] = 0.0  # unknown family: silence rather than garbage (never reached: build() checks)


@njit(cache=True, error_model="numpy")
def process_in_blocks(layout, weights, state, cursor, x, y, block):
    """Run x through the model in consecutive blocks of `block` samples (the last may be shorter):
    what a host's callbacks do, without a Python call per block."""
    for start in range(0, x.shape[0], block):
        stop = min(start + block, x.shape[0])
        process_block(layout, weights, state, cursor, x[start:stop], y[start:stop])
