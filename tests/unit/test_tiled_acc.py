"""linalg.tiled_acc (tile.py's register-tile micro-kernel) against numpy, over every tile shape it picks."""

import numpy as np
import pytest

from engine.kernels.linalg import TILE, tiled_acc


def reference(state, out_at, out_stride, n_out, w, w_at, src_at, src_stride, rows, taps, dil, width, init=None):
    """What tiled_acc computes, in float64 with plain indexing."""
    out = np.empty((n_out, width))
    for o in range(n_out):
        if init is None:
            out[o] = state[out_at + o * out_stride:out_at + o * out_stride + width]
        else:
            init_at, init_stride, init_w, init_b = init
            row = state[init_at + o * init_stride:init_at + o * init_stride + width].astype(np.float64)
            out[o] = w[init_w + o] * row + w[init_b + o]
        for k in range(taps):
            for j in range(rows):
                start = src_at + j * src_stride - (taps - 1 - k) * dil
                out[o] += float(w[w_at + (k * rows + j) * n_out + o]) * state[start:start + width]
    return out


@pytest.mark.parametrize("n_out", [1, 2, 3, 4, 5, 7, 8, 11])  # 4-output tiles and every remainder shape
@pytest.mark.parametrize("rows, taps, dil", [(1, 1, 0), (3, 6, 7), (8, 3, 2), (5, 2, 300)])
@pytest.mark.parametrize("tiles", [1, 2, 3])  # one tile, two (the wide shapes), an odd count
@pytest.mark.parametrize("init", [False, True])
def test_tiled_acc_matches_numpy(n_out, rows, taps, dil, tiles, init):
    rng = np.random.default_rng(n_out * 100 + rows * 10 + tiles)
    width = tiles * TILE
    src_stride = (taps - 1) * dil + width + 5  # rows not a multiple of the vector apart
    src_at = (taps - 1) * dil + 3
    out_at = src_at + rows * src_stride + 7
    out_stride = width + 1
    init_at = out_at + n_out * out_stride + 2
    state = rng.standard_normal(init_at + n_out * width + 16).astype(np.float32)
    w = rng.standard_normal(taps * rows * n_out + 2 * n_out + 3).astype(np.float32)
    w_at, init_w, init_b = 3, 3 + taps * rows * n_out, 3 + taps * rows * n_out + n_out
    init_args = (init_at, width, init_w, init_b) if init else None
    expected = reference(state.astype(np.float64), out_at, out_stride, n_out, w, w_at, src_at, src_stride, rows, taps,
                         dil, width, init_args)
    before = state.copy()
    tiled_acc(state, out_at, out_stride, n_out, w, w_at, state, src_at, src_stride, rows, taps, dil, width,
              *(init_args if init else (-1, 0, 0, 0)))
    got = np.stack([state[out_at + o * out_stride:out_at + o * out_stride + width] for o in range(n_out)])
    assert np.allclose(got, expected, rtol=1e-5, atol=1e-5)
    written = np.zeros(state.size, bool)
    for o in range(n_out):
        written[out_at + o * out_stride:out_at + o * out_stride + width] = True
    assert np.array_equal(state[~written], before[~written])  # nothing outside the output rows
