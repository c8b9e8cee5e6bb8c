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


@njit(inline="always", cache=True, error_model="numpy")
def _tap_row(jj, base, stride, c, taps, dil):
    """Start index of virtual input row jj = k*c + j of a causal conv: row j, (taps-1-k)*dil samples back."""
    return base + (jj % c) * stride - (taps - 1 - jj // c) * dil


@njit(inline="always", cache=True, error_model="numpy")
def conv_acc(out, w, w_off, buf, base, stride, c, taps, dil, n_out, n):
    """out[o, t] += sum_{k, j} W[k*c + j, o] * buf[base + j*stride + t - (taps-1-k)*dil]: a causal dilated
    conv (or, with taps 1, a 1x1) read in place from a history buffer, no gathered copy.

    For the shapes matmul_acc handles poorly: few or odd input channels (NAM A2-Lite's 3 channels x
    kernel 6) and 1-3 outputs (a head). The c*taps input rows are blocked 4 at a time across taps, one
    pass over time per output and block: 4 multiply-adds per output load and store. (Its 4x4 register
    blocks need the inputs as one 2-D array: four separate row views defeat LLVM's vectoriser, 3x
    slower.) Every sample sees the same operations whatever n is: bit-identical for any partition.
    """
    n_in = c * taps
    in4 = n_in - n_in % 4
    for g in range(in4 // 4):
        jj = 4 * g
        r0 = _tap_row(jj, base, stride, c, taps, dil)
        r1 = _tap_row(jj + 1, base, stride, c, taps, dil)
        r2 = _tap_row(jj + 2, base, stride, c, taps, dil)
        r3 = _tap_row(jj + 3, base, stride, c, taps, dil)
        x0, x1, x2, x3 = buf[r0:r0 + n], buf[r1:r1 + n], buf[r2:r2 + n], buf[r3:r3 + n]
        for o in range(n_out):
            p = w_off + jj * n_out + o
            a0, a1, a2, a3 = w[p], w[p + n_out], w[p + 2 * n_out], w[p + 3 * n_out]
            for t in range(n):
                out[o, t] += a0 * x0[t] + a1 * x1[t] + a2 * x2[t] + a3 * x3[t]
    for jj in range(in4, n_in):
        r0 = _tap_row(jj, base, stride, c, taps, dil)
        x0 = buf[r0:r0 + n]
        for o in range(n_out):
            a0 = w[w_off + jj * n_out + o]
            for t in range(n):
                out[o, t] += a0 * x0[t]
