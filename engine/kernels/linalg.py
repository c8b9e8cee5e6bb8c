"""The products every kernel spends its time in: a small matrix times a block of samples.

- `matmul_acc` (the gated WaveNet): out[o, t] += sum_j W[j, o] * rows[j, t] for t < n, with W stored
  row-major (j, o) at w[w_off:]. Register-blocked 4 outputs x 4 inputs so each loaded sample feeds 4
  multiply-adds and each output vector is loaded and stored once per 4 inputs: about 3x the plain axpy
  loop. The loop over time is innermost and every sample sees the same sequence of float operations
  whatever n is. Both arrays must be C-contiguous (rows packed n apart, so rows do not alias in cache
  the way a fixed power-of-two stride would).
- `tiled_acc` (the NAM WaveNet): a causal dilated conv or 1x1 read in place from flat state, through
  tile.py's register-tile micro-kernel (2-4x matmul_acc on NAM's shapes, which also needed a gathered
  copy of the conv taps).
Both give bit-identical results for any block partition.
"""

import numpy as np
from numba import njit

from engine.kernels.tile import LANES, make_tile


@njit(inline="always", cache=True, error_model="numpy")
def matmul_acc(out, w, w_off, rows, n_out, n):
    n_in = rows.shape[0]
    in4 = n_in - n_in % 4
    out4 = n_out - n_out % 4
    for oq in range(out4 // 4):
        o = 4 * oq
        for g in range(in4 // 4):
            j = 4 * g
            p = w_off + j * n_out + o
            a0, b0, c0, d0 = w[p], w[p + 1], w[p + 2], w[p + 3]
            p += n_out
            a1, b1, c1, d1 = w[p], w[p + 1], w[p + 2], w[p + 3]
            p += n_out
            a2, b2, c2, d2 = w[p], w[p + 1], w[p + 2], w[p + 3]
            p += n_out
            a3, b3, c3, d3 = w[p], w[p + 1], w[p + 2], w[p + 3]
            for t in range(n):
                x0, x1, x2, x3 = rows[j, t], rows[j + 1, t], rows[j + 2, t], rows[j + 3, t]
                out[o, t] += a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3
                out[o + 1, t] += b0 * x0 + b1 * x1 + b2 * x2 + b3 * x3
                out[o + 2, t] += c0 * x0 + c1 * x1 + c2 * x2 + c3 * x3
                out[o + 3, t] += d0 * x0 + d1 * x1 + d2 * x2 + d3 * x3
        for j in range(in4, n_in):
            p = w_off + j * n_out + o
            a0, b0, c0, d0 = w[p], w[p + 1], w[p + 2], w[p + 3]
            for t in range(n):
                x0 = rows[j, t]
                out[o, t] += a0 * x0
                out[o + 1, t] += b0 * x0
                out[o + 2, t] += c0 * x0
                out[o + 3, t] += d0 * x0
    for o in range(out4, n_out):
        for j in range(n_in):
            a0 = w[w_off + j * n_out + o]
            for t in range(n):
                out[o, t] += a0 * rows[j, t]


TILE = 2 * LANES  # samples per register tile: callers round n up to this and pad their rows to match
_TILE_4 = make_tile(4, 2)  # 4 outputs x TILE samples: 8 accumulators (16 NEON registers), enough to hide FMA latency
_TILE_3 = make_tile(3, 2)
_TILE_2W = make_tile(2, 4)  # fewer outputs: 2 x TILE samples, to keep 8 or 4 FMAs in flight
_TILE_1W = make_tile(1, 4)
_TILE_2 = make_tile(2, 2)
_TILE_1 = make_tile(1, 2)


# tiled_acc compiles one specialisation per distinct argument types at its call sites (minutes on a
# first start for each): a literal constant argument and an omitted default are types of their own.
# So callers pass every argument, the constants below as int64 values, and literal taps 1, dil 0 only
# where the product is a 1x1: that specialisation, with them folded to constants, is the second.
NO_INIT = (np.int64(-1), np.int64(0), np.int64(0), np.int64(0))  # init_at..init_b: the sum starts from out
SHARED_ROW = np.int64(0)  # init_stride: every output starts from the same row (the mono input mixin)
DIL_1 = np.int64(1)  # a conv's dilation 1 (the head's), as a value: the conv specialisation


@njit(cache=True, _nrt=False, error_model="numpy")
def tiled_acc(out, out_at, out_stride, n_out, w, w_at, src, src_at, src_stride, rows, taps, dil, n,
              init_at, init_stride, init_w, init_b):
    """out[out_at + o*out_stride + t] (+)= sum_{k<taps, j<rows} w[w_at + (k*rows + j)*n_out + o]
    * src[src_at + j*src_stride + t - (taps-1-k)*dil] for o < n_out and t < n rounded up to TILE:
    a causal dilated conv read in place from a history buffer (taps 1: a 1x1), weights (taps, rows,
    n_out). The sum starts from out (init_at < 0), or from w[init_w + o] * src[init_at + o*init_stride + t]
    + w[init_b + o] (the bias and input mixin, or a residual's input and bias, fused in). Outputs go 4
    at a time through tile.py's micro-kernel, the last 1-3 through its narrower shapes; every shape
    gives each sample the same FMA chain (bit-identical for any partition)."""
    o = 0
    while o + 4 <= n_out:
        at = init_at + o * init_stride
        for t in range(0, n, TILE):
            _TILE_4(out, out_at + o * out_stride + t, out_stride, w, w_at + o, n_out, src, src_at + t, src_stride,
                    rows, taps, dil, at + t if init_at >= 0 else -1, init_stride, init_w + o, init_b + o)
        o += 4
    rest, out_rest, w_rest = n_out - o, out_at + o * out_stride, w_at + o
    init_rest, iw, ib = init_at + o * init_stride, init_w + o, init_b + o
    t = 0
    while t < n:
        wide = t + TILE < n  # two tiles left
        at = init_rest + t if init_at >= 0 else -1
        if rest == 3:
            _TILE_3(out, out_rest + t, out_stride, w, w_rest, n_out, src, src_at + t, src_stride, rows, taps, dil,
                    at, init_stride, iw, ib)
        elif rest == 2 and wide:
            _TILE_2W(out, out_rest + t, out_stride, w, w_rest, n_out, src, src_at + t, src_stride, rows, taps, dil,
                     at, init_stride, iw, ib)
        elif rest == 2:
            _TILE_2(out, out_rest + t, out_stride, w, w_rest, n_out, src, src_at + t, src_stride, rows, taps, dil,
                    at, init_stride, iw, ib)
        elif rest == 1 and wide:
            _TILE_1W(out, out_rest + t, out_stride, w, w_rest, n_out, src, src_at + t, src_stride, rows, taps, dil,
                     at, init_stride, iw, ib)
        elif rest == 1:
            _TILE_1(out, out_rest + t, out_stride, w, w_rest, n_out, src, src_at + t, src_stride, rows, taps, dil,
                    at, init_stride, iw, ib)
        else:
            break
        t += 2 * TILE if wide and rest < 3 else TILE
