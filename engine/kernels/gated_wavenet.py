"""Streaming numba kernel of the gated WaveNet (WaveNetVA / PedalNetRT / the seed project).

Everything a running model needs lives in four flat arrays (see engine/streaming.py), so that the
same code runs from Python, from `ampemu process` and from a GIL-free numba cfunc JACK callback:
- layout (int64): sizes and offsets, written once by `build`;
- weights (float32): the parameters;
- state (float32): per-layer history buffers and scratch;
- cursor (int64): the write position inside the history buffers.

Layer-major: a block runs through layer 1 entirely, then layer 2, ... Each layer keeps its input
channel-major in a sliding buffer of `history + CHUNK` samples (history = (K-1)*dilation), so every
tap of the dilated conv is one contiguous vector over time: the inner loops are axpys over time that
LLVM vectorises, and every output sample sees exactly the same sequence of float operations
whatever the block partition (output is bit-identical for any block sizes). When a buffer is full
the last `history` samples are moved to its front (amortised: once every CHUNK samples).
"""

import numpy as np
from numba import njit

from engine.formats.wavenetva_json import GatedWaveNetWeights
from engine.kernels.activations import FAST, tanh_exact, tanh_fast
from engine.kernels.linalg import matmul_acc

FAMILY = 1
CHUNK = 2048  # longest run processed at once; longer blocks are split (same result)

# layout slots
_FAMILY, _MODE, _C, _K, _L, _CHUNK, _W_IN, _B_IN, _W_MIX, _B_MIX, _SCRATCH = range(11)
_LAYERS = 16  # per-layer records start here
_DIL, _HIST, _W_CONV, _B_CONV, _W_RES, _B_RES, _BUF = range(7)
_RECORD = 7


def build(model: GatedWaveNetWeights, fast: bool):
    """Pack `model` into (layout, weights, state, cursor) for `process`."""
    c, k, n_layers = model.channels, model.kernel_size, len(model.dilations)
    layout = np.zeros(_LAYERS + _RECORD * n_layers, dtype=np.int64)
    layout[_FAMILY], layout[_MODE] = FAMILY, int(fast)
    layout[_C], layout[_K], layout[_L], layout[_CHUNK] = c, k, n_layers, CHUNK
    chunks: list[np.ndarray] = []
    size = 0

    def put(values) -> int:
        nonlocal size
        flat = np.asarray(values, dtype=np.float32).ravel()
        chunks.append(flat)
        size += flat.size
        return size - flat.size

    layout[_W_IN] = put(model.input_weight)
    layout[_B_IN] = put(model.input_bias)
    layout[_W_MIX] = put(model.mix_weight)
    layout[_B_MIX] = put([model.mix_bias])
    state_size = 0
    for layer, dilation in enumerate(model.dilations):
        rec = _LAYERS + _RECORD * layer
        hist = (k - 1) * dilation
        layout[rec + _DIL], layout[rec + _HIST] = dilation, hist
        # (out, in, k) -> [k][in][out]: the out-vector of one (tap, input) pair is contiguous
        layout[rec + _W_CONV] = put(np.transpose(model.conv_weights[layer], (2, 1, 0)))
        layout[rec + _B_CONV] = put(model.conv_biases[layer])
        layout[rec + _W_RES] = put(np.transpose(model.residual_weights[layer]))
        layout[rec + _B_RES] = put(model.residual_biases[layer])
        layout[rec + _BUF] = state_size
        state_size += c * (hist + CHUNK)
    layout[_SCRATCH] = state_size
    state_size += (k * c + 2 * c + c + c) * CHUNK
    weights = np.concatenate(chunks)
    return layout, weights, np.zeros(state_size, np.float32), np.zeros(1, np.int64)


@njit(cache=True, error_model="numpy")
def _compact(layout, state, used):
    """Move each layer's last `history` samples to the front of its buffer."""
    c, n_layers, chunk = layout[_C], layout[_L], layout[_CHUNK]
    for layer in range(n_layers):
        rec = _LAYERS + _RECORD * layer
        hist = layout[rec + _HIST]
        stride = hist + chunk
        for ch in range(c):
            row = layout[rec + _BUF] + ch * stride
            for j in range(hist):
                state[row + j] = state[row + used + j]


@njit(cache=True, error_model="numpy")
def _chunk(layout, weights, state, cursor, x, y, start, n):
    c, taps, n_layers, chunk = layout[_C], layout[_K], layout[_L], layout[_CHUNK]
    fast = layout[_MODE] == FAST
    pos = cursor[0]
    if pos + n > chunk:
        _compact(layout, state, pos)
        pos = 0
    # scratch, packed n samples apart: taps (K*C, n), conv out (2C, n), gated (C, n), residual (C, n)
    s = layout[_SCRATCH]
    cols = state[s:s + taps * c * n].reshape((taps * c, n))
    s += taps * c * chunk
    a = state[s:s + 2 * c * n].reshape((2 * c, n))
    s += 2 * c * chunk
    z = state[s:s + c * n].reshape((c, n))
    s += c * chunk
    res = state[s:s + c * n].reshape((c, n))
    # input 1x1 conv into layer 0's buffer
    stride = layout[_LAYERS + _HIST] + chunk
    for ch in range(c):
        w, b = weights[layout[_W_IN] + ch], weights[layout[_B_IN] + ch]
        dst = layout[_LAYERS + _BUF] + ch * stride + layout[_LAYERS + _HIST] + pos
        h = state[dst:dst + n]
        for t in range(n):
            h[t] = w * x[start + t] + b
    out = y[start:start + n]
    mix_b = weights[layout[_B_MIX]]
    for t in range(n):
        out[t] = mix_b
    for layer in range(n_layers):
        rec = _LAYERS + _RECORD * layer
        dil, hist = layout[rec + _DIL], layout[rec + _HIST]
        stride = hist + chunk
        buf = layout[rec + _BUF]
        now = buf + hist + pos  # state index of channel 0's first sample of this block
        # dilated conv as one matrix product: cols[k*C + i, t] = h[i, t - (K-1-k)*dil]
        for k in range(taps):
            back = (taps - 1 - k) * dil
            for i in range(c):
                src = state[now + i * stride - back:now + i * stride - back + n]
                for t in range(n):
                    cols[k * c + i, t] = src[t]
        b_conv = layout[rec + _B_CONV]
        for o in range(2 * c):
            b = weights[b_conv + o]
            for t in range(n):
                a[o, t] = b
        matmul_acc(a, weights, layout[rec + _W_CONV], cols, 2 * c, n)
        # gate: z = tanh(a[:C]) * sigmoid(a[C:]), sigmoid(v) = (1 + tanh(v / 2)) / 2
        for ch in range(c):
            if fast:
                for t in range(n):
                    g = np.float32(0.5) + np.float32(0.5) * tanh_fast(np.float32(0.5) * a[c + ch, t])
                    z[ch, t] = tanh_fast(a[ch, t]) * g
            else:
                for t in range(n):
                    g = np.float32(0.5) + np.float32(0.5) * tanh_exact(np.float32(0.5) * a[c + ch, t])
                    z[ch, t] = tanh_exact(a[ch, t]) * g
        # skip: the linear mix over all layers' gated outputs accumulates into y
        w_mix = layout[_W_MIX] + layer * c
        for ch in range(c):
            w = weights[w_mix + ch]
            for t in range(n):
                out[t] += w * z[ch, t]
        if layer + 1 == n_layers:
            break  # the last residual feeds nothing
        # residual 1x1 into the next layer's buffer: h' = h + b + W z
        b_res = layout[rec + _B_RES]
        for o in range(c):
            h = state[now + o * stride:now + o * stride + n]
            b = weights[b_res + o]
            for t in range(n):
                res[o, t] = h[t] + b
        matmul_acc(res, weights, layout[rec + _W_RES], z, c, n)
        nrec = rec + _RECORD
        nstride = layout[nrec + _HIST] + chunk
        nnow = layout[nrec + _BUF] + layout[nrec + _HIST] + pos
        for o in range(c):
            hn = state[nnow + o * nstride:nnow + o * nstride + n]
            for t in range(n):
                hn[t] = res[o, t]
    cursor[0] = pos + n


@njit(cache=True, error_model="numpy")
def process(layout, weights, state, cursor, x, y):
    """y[:] = model(x) for one block of any length, continuing from the stored history."""
    total = x.shape[0]
    chunk = layout[_CHUNK]
    start = np.int64(0)  # not a literal: numba would compile _chunk once more for it
    while start < total:
        n = min(chunk, total - start)
        _chunk(layout, weights, state, cursor, x, y, start, n)
        start += n
