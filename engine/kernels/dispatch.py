"""One entry point for every kernel family, callable from Python or from a numba cfunc.

A model is four flat arrays (layout, weights, state, cursor); layout[0] names its family. Containers
and the real-time callback call `process_block` and never need to know which family runs.
"""

from numba import njit

from engine.kernels import gated_wavenet


@njit(cache=True, error_model="numpy")
def process_block(layout, weights, state, cursor, x, y):
    family = layout[0]
    if family == gated_wavenet.FAMILY:
        gated_wavenet.process(layout, weights, state, cursor, x, y)
    else:
        y[:] = 0.0  # unknown family: silence rather than garbage (never reached: build() checks)
