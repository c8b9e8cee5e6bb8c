"""The one inner loop every kernel spends its time in: a small matrix times a block of samples.

out[o, t] += sum_j W[j, o] * rows[j, t] for t < n, with W stored row-major (j, o) at w[w_off:].
Register-blocked 4 outputs x 4 inputs so each loaded sample feeds 4 multiply-adds and each output
vector is loaded and stored once per 4 inputs: about 3x the plain axpy loop. The loop over time is
innermost and every sample sees the same sequence of float operations whatever n is, so results are
bit-identical for any block partition. Both arrays must be C-contiguous (rows packed n apart, so
rows do not alias in cache the way a fixed power-of-two stride would).
"""

from numba import njit


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
