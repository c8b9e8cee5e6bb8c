"""Streaming numba kernel of Neural Amp Modeler's WaveNet (layer arrays, heads, head_scale).

Same design as gated_wavenet.py (read that first): four flat arrays, layer-major, each layer's input
kept channel-major in a sliding buffer of `history + CHUNK` samples so every conv tap is a contiguous
vector over time, the products in `linalg.matmul_acc`, and output bit-identical for any block
partition. What NAM adds (the maths is in engine/formats/nam/__init__.py):
- several layer arrays in a chain, each with a 1x1 "rechannel" in and a 1x1 head rechannel out;
- every layer mixes the raw input in before its activation, and any of NAM's activations (gated or
  not: act(z[:C]) * sigmoid(z[C:]));
- the head accumulator runs across arrays: array a's starts at array a-1's head output;
- A2: per-layer records carry their own kernel size, activation, slope and gating; a bottleneck B
  (conv/activation width) with layer1x1 B -> C or none (identity residual); an optional head1x1 whose
  output the head accumulates; the array's head is a causal conv (kernel 16 in A2, 1 in A1) over a
  sliding buffer of the accumulator, like a layer's.

Elementwise stages (activation, gate, head accumulation) run as one flat loop over (channel, time):
at 64-frame blocks loop overhead, not arithmetic, is most of the time outside the products.
fastmath={"contract"} (and nothing else of fastmath) lets LLVM fuse a*b + c into one FMA instruction
(about 5 % on the standard model). It reorders nothing, so the vectorised loop and its scalar
remainder still do the same operations per sample and output stays bit-identical for any partition
(tested).
"""

import numpy as np
from numba import njit

from engine.formats.nam.activations import ACTIVATIONS
from engine.formats.nam.model import NamWaveNet
from engine.kernels.activations import FAST, sigmoid_mode, tanh_exact, tanh_fast
from engine.kernels.linalg import conv_acc, matmul_acc
from engine.kernels.packing import WeightPacker

FAMILY = 2
CHUNK = 2048  # longest run processed at once; longer blocks are split (same result)

TANH, HARDTANH, RELU, LEAKY_RELU, SIGMOID, SILU, HARDSWISH = (ACTIVATIONS.index(name) for name in (
    "Tanh", "Hardtanh", "ReLU", "LeakyReLU", "Sigmoid", "SiLU", "Hardswish"))

# layout header slots (scratch slots are state offsets of (rows, n)-packed work arrays)
(_FAMILY, _MODE, _N_ARRAYS, _CHUNK, _HEAD_SCALE, _COLS, _Z, _ACT, _RES, _HEAD_A, _HEAD_B, _N_LAYERS,
 _N_COND, _COND_SCALE, _COND, _COND_ROWS) = range(16)
_ARRAYS = 16  # per-array records start here: a condition_dsp's arrays (the first _N_COND), then the model's
(_IN, _C, _H, _LAYERS_IN, _FIRST, _W_RE, _W_HEAD, _B_HEAD, _B, _HEAD_IN, _HEAD_K, _HEAD_HIST, _HEAD_BUF,
 _LAYER1X1, _CONDITIONS) = range(15)
_ARRAY_RECORD = 15
_DIL, _K, _HIST, _ACTIVATION, _SLOPE, _GATED, _W_CONV, _B_CONV, _W_MIX, _W_RES, _B_RES, _BUF, _W_H1, _B_H1 = range(14)
_LAYER_RECORD = 14


def build(model: NamWaveNet, fast: bool):
    """Pack `model` into (layout, weights, state, cursor) for `process`."""
    condition = model.condition_dsp
    all_arrays = (condition.arrays if condition else []) + model.arrays
    n_arrays = len(all_arrays)
    n_layers = sum(len(a.dilations) for a in all_arrays)
    layers_at = _ARRAYS + _ARRAY_RECORD * n_arrays
    layout = np.zeros(layers_at + _LAYER_RECORD * n_layers, dtype=np.int64)
    layout[_FAMILY], layout[_MODE], layout[_N_ARRAYS], layout[_CHUNK] = FAMILY, int(fast), n_arrays, CHUNK
    layout[_N_LAYERS] = n_layers
    put = (packer := WeightPacker()).put

    state_size = 0

    def buffer(rows: int, hist: int) -> int:
        """A sliding history buffer: `rows` rows of hist + CHUNK samples."""
        nonlocal state_size
        state_size += rows * (hist + CHUNK)
        return state_size - rows * (hist + CHUNK)

    rows = {"cols": 1, "z": 1, "act": 1, "res": 1, "head": 1}
    layer = 0
    for a, array in enumerate(all_arrays):
        c, b, head_in = array.channels, array.inner_channels, array.head_in
        rec = _ARRAYS + _ARRAY_RECORD * a
        layout[rec + _IN], layout[rec + _C], layout[rec + _H] = array.input_size, c, array.head_size
        layout[rec + _B], layout[rec + _HEAD_IN], layout[rec + _LAYER1X1] = b, head_in, int(array.layer1x1)
        layout[rec + _LAYERS_IN], layout[rec + _FIRST] = len(array.dilations), layer
        layout[rec + _CONDITIONS] = array.condition_size
        # matmul_acc wants W as (in, out): torch's (out, in[, k]) transposed, taps outermost
        layout[rec + _W_RE] = put(np.transpose(array.rechannel))
        head_k = array.head_kernel_size
        head_w = np.asarray(array.head_weight).reshape(array.head_size, head_in, head_k)
        layout[rec + _W_HEAD] = put(np.transpose(head_w, (2, 1, 0)))
        layout[rec + _B_HEAD] = put(array.head_bias_values) if array.head_bias else -1
        layout[rec + _HEAD_K], layout[rec + _HEAD_HIST] = head_k, head_k - 1
        layout[rec + _HEAD_BUF] = buffer(head_in, head_k - 1)
        for i, dilation in enumerate(array.dilations):
            lrec = layers_at + _LAYER_RECORD * layer
            k, (activation, slope), gated = array.layer_kernel(i), array.layer_activation(i), array.layer_gated(i)
            hist = (k - 1) * dilation
            layout[lrec + _DIL], layout[lrec + _K], layout[lrec + _HIST] = dilation, k, hist
            layout[lrec + _ACTIVATION], layout[lrec + _SLOPE] = ACTIVATIONS.index(activation), put([slope])
            layout[lrec + _GATED] = int(gated)
            layout[lrec + _W_CONV] = put(np.transpose(array.conv_weights[i], (2, 1, 0)))
            layout[lrec + _B_CONV] = put(array.conv_biases[i])
            layout[lrec + _W_MIX] = put(np.transpose(array.mixin_weights[i]))
            if array.layer1x1:
                layout[lrec + _W_RES] = put(np.transpose(array.residual_weights[i]))
                layout[lrec + _B_RES] = put(array.residual_biases[i])
            layout[lrec + _W_H1] = put(np.transpose(array.head1x1_weights[i])) if array.head1x1_weights else -1
            layout[lrec + _B_H1] = put(array.head1x1_biases[i]) if array.head1x1_weights else -1
            layout[lrec + _BUF] = buffer(c, hist)
            rows["cols"] = max(rows["cols"], k * c)
            rows["z"] = max(rows["z"], (2 if gated else 1) * b, c)
            layer += 1
        rows["cols"] = max(rows["cols"], head_k * head_in)
        rows["act"] = max(rows["act"], b)
        rows["res"] = max(rows["res"], c)
        rows["head"] = max(rows["head"], head_in, array.head_size)
    layout[_HEAD_SCALE] = put([model.head_scale])
    layout[_N_COND], layout[_COND_ROWS] = (len(condition.arrays), condition.arrays[-1].head_size) if condition else (0, 1)
    layout[_COND_SCALE] = put([condition.head_scale if condition else 1.0])
    layout[_COND] = state_size
    state_size += layout[_COND_ROWS] * CHUNK
    for slot, name in ((_COLS, "cols"), (_Z, "z"), (_ACT, "act"), (_RES, "res"), (_HEAD_A, "head"), (_HEAD_B, "head")):
        layout[slot] = state_size
        state_size += rows[name] * CHUNK
    weights = packer.array()
    return layout, weights, np.zeros(state_size, np.float32), np.zeros(1, np.int64)


@njit(inline="always", cache=True, error_model="numpy")
def _shift(state, buf, rows, hist, chunk, used):
    """Move the last `hist` samples of each row of a history buffer to its front."""
    stride = hist + chunk
    for ch in range(rows):
        row = buf + ch * stride
        for j in range(hist):
            state[row + j] = state[row + used + j]


@njit(cache=True, error_model="numpy")
def _compact(layout, state, used):
    """Move each buffer's last `history` samples to the front."""
    chunk, first = layout[_CHUNK], _ARRAYS + _ARRAY_RECORD * layout[_N_ARRAYS]
    for a in range(layout[_N_ARRAYS]):
        rec = _ARRAYS + _ARRAY_RECORD * a
        for layer in range(layout[rec + _FIRST], layout[rec + _FIRST] + layout[rec + _LAYERS_IN]):
            lrec = first + _LAYER_RECORD * layer
            _shift(state, layout[lrec + _BUF], layout[rec + _C], layout[lrec + _HIST], chunk, used)
        _shift(state, layout[rec + _HEAD_BUF], layout[rec + _HEAD_IN], layout[rec + _HEAD_HIST], chunk, used)


@njit(inline="always", cache=True, error_model="numpy")
def _activate(z, out, size, code, slope, mode):
    """out[:size] = act(z[:size]) over flat (channel, time) data: one branch-free loop per activation."""
    zero, one, three, sixth = np.float32(0.0), np.float32(1.0), np.float32(3.0), np.float32(1.0 / 6.0)
    if code == TANH and mode == FAST:
        for i in range(size):
            out[i] = tanh_fast(z[i])
    elif code == TANH:
        for i in range(size):
            out[i] = tanh_exact(z[i])
    elif code == HARDTANH:
        for i in range(size):
            out[i] = min(max(z[i], -one), one)
    elif code == RELU:
        for i in range(size):
            out[i] = max(z[i], zero)
    elif code == LEAKY_RELU:
        for i in range(size):
            out[i] = max(z[i], zero) + slope * min(z[i], zero)
    elif code == SIGMOID:
        for i in range(size):
            out[i] = sigmoid_mode(z[i], mode)
    elif code == SILU:
        for i in range(size):
            out[i] = z[i] * sigmoid_mode(z[i], mode)
    else:  # HARDSWISH: x * relu6(x + 3) / 6
        for i in range(size):
            out[i] = z[i] * min(max(z[i] + three, zero), np.float32(6.0)) * sixth


@njit(inline="always", cache=True, error_model="numpy")
def _store(state, buf, hist, chunk, pos, src, c, n):
    """Write src (c, n) as the newest n samples of the history buffer at `buf`."""
    stride = hist + chunk
    now = buf + hist + pos
    for o in range(c):
        h = state[now + o * stride:now + o * stride + n]
        for t in range(n):
            h[t] = src[o, t]


@njit(inline="always", cache=True, error_model="numpy")
def _conv(out, weights, w_off, state, cols_at, buf, hist, chunk, pos, rows, taps, dil, n_out, n):
    """out += causal dilated conv of a history buffer's rows (weights (taps, rows, n_out)).

    Rows in multiples of 4 and 4+ outputs: gather the taps into one (taps*rows, n) matrix and run
    matmul_acc's 4x4 blocks. Other shapes (A2-Lite's 3 rows, the A2 head's 1 output): conv_acc in place,
    whose blocks of 4 inputs span taps, saving the copy and 3/4 of matmul_acc's remainder passes (about
    2x on A2-Lite).
    """
    stride = hist + chunk
    now = buf + hist + pos  # state index of row 0's first sample of this block
    if rows % 4 != 0 or n_out < 4:
        conv_acc(out, weights, w_off, state, now, stride, rows, taps, dil, n_out, n)
        return
    cols = state[cols_at:cols_at + taps * rows * n].reshape((taps * rows, n))
    for k in range(taps):
        back = (taps - 1 - k) * dil
        for j in range(rows):
            src = state[now + j * stride - back:now + j * stride - back + n]
            for t in range(n):
                cols[k * rows + j, t] = src[t]
    matmul_acc(out, weights, w_off, cols, n_out, n)


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _chunk(layout, weights, state, cursor, x, y, start, n):
    chunk = layout[_CHUNK]
    pos = cursor[0]
    if pos + n > chunk:
        _compact(layout, state, pos)
        pos = 0
    xin = x[start:start + n]
    n_cond, rows = layout[_N_COND], layout[_COND_ROWS]
    cond = state[layout[_COND]:layout[_COND] + rows * n].reshape((rows, n))
    if n_cond > 0:  # the condition_dsp's output, times its head_scale, conditions the model's layers
        src = _net(layout, weights, state, 0, n_cond, xin, cond, pos, n)
        scale = weights[layout[_COND_SCALE]]
        for o in range(rows):
            for t in range(n):
                cond[o, t] = scale * src[o, t]
    final = _net(layout, weights, state, n_cond, layout[_N_ARRAYS], xin, cond, pos, n)
    scale = weights[layout[_HEAD_SCALE]]
    out_y = y[start:start + n]
    for t in range(n):
        out_y[t] = scale * final[0, t]
    cursor[0] = pos + n


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _net(layout, weights, state, first_array, end_array, xin, cond, pos, n):
    """Arrays first_array..end_array-1 on the input xin, conditioned by xin (mono) or cond (a condition_dsp's
    rows); returns the last array's head output (rows, n)."""
    chunk, fast = layout[_CHUNK], layout[_MODE] == FAST
    layers_at = _ARRAYS + _ARRAY_RECORD * layout[_N_ARRAYS]
    rows_in = xin.reshape((1, n))  # the first array's input
    head_in, head_out = layout[_HEAD_A], layout[_HEAD_B]
    for a in range(first_array, end_array):
        rec = _ARRAYS + _ARRAY_RECORD * a
        c, b, n_heads, n_layers = layout[rec + _C], layout[rec + _B], layout[rec + _H], layout[rec + _LAYERS_IN]
        acc_rows = layout[rec + _HEAD_IN]
        last_array = a + 1 == end_array
        head = state[head_in:head_in + acc_rows * n].reshape((acc_rows, n))
        if a == first_array:
            head[:, :] = 0.0
        # rechannel 1x1 (no bias) into the first layer's buffer
        first = layers_at + _LAYER_RECORD * layout[rec + _FIRST]
        tmp = state[layout[_Z]:layout[_Z] + c * n].reshape((c, n))
        tmp[:, :] = 0.0
        matmul_acc(tmp, weights, layout[rec + _W_RE], rows_in, c, n)
        _store(state, layout[first + _BUF], layout[first + _HIST], chunk, pos, tmp, c, n)
        for i in range(n_layers):
            lrec = first + _LAYER_RECORD * i
            dil, taps, hist = layout[lrec + _DIL], layout[lrec + _K], layout[lrec + _HIST]
            c_conv = 2 * b if layout[lrec + _GATED] else b
            # z = conv bias + input mixin (1x1 of the raw input, no bias) + conv
            z = state[layout[_Z]:layout[_Z] + c_conv * n].reshape((c_conv, n))
            b_conv, w_mix = layout[lrec + _B_CONV], layout[lrec + _W_MIX]
            if layout[rec + _CONDITIONS] == 1:  # the mono input: one multiply-add per sample
                for o in range(c_conv):
                    bias, w = weights[b_conv + o], weights[w_mix + o]
                    for t in range(n):
                        z[o, t] = bias + w * xin[t]
            else:
                for o in range(c_conv):
                    bias = weights[b_conv + o]
                    for t in range(n):
                        z[o, t] = bias
                matmul_acc(z, weights, w_mix, cond, c_conv, n)
            _conv(z, weights, layout[lrec + _W_CONV], state, layout[_COLS], layout[lrec + _BUF], hist, chunk, pos, c,
                  taps, dil, c_conv, n)
            # activation, gate and head accumulation over flat (channel, time) data: few, long loops
            size = b * n
            act_flat = state[layout[_ACT]:layout[_ACT] + size]
            z_flat = state[layout[_Z]:layout[_Z] + c_conv * n]
            _activate(z_flat, act_flat, size, layout[lrec + _ACTIVATION], weights[layout[lrec + _SLOPE]], layout[_MODE])
            if c_conv != b:  # gated: the second half of z gates the first
                gate = z_flat[size:2 * size]
                if fast:
                    for e in range(size):
                        act_flat[e] *= np.float32(0.5) + np.float32(0.5) * tanh_fast(np.float32(0.5) * gate[e])
                else:
                    for e in range(size):
                        act_flat[e] *= np.float32(0.5) + np.float32(0.5) * tanh_exact(np.float32(0.5) * gate[e])
            act = act_flat.reshape((b, n))
            w_h1 = layout[lrec + _W_H1]
            if w_h1 >= 0:  # head1x1: the head accumulates its output (bias + W act) instead of act
                b_h1 = layout[lrec + _B_H1]
                for o in range(acc_rows):
                    bias = weights[b_h1 + o]
                    for t in range(n):
                        head[o, t] += bias
                matmul_acc(head, weights, w_h1, act, acc_rows, n)
            else:
                head_flat = state[head_in:head_in + size]
                for e in range(size):
                    head_flat[e] += act_flat[e]
            if last_array and i + 1 == n_layers:
                break  # the very last residual feeds nothing
            # residual: h' = h + b + W act (layer1x1), or h, into the next layer's buffer (or the array's output)
            res = state[layout[_RES]:layout[_RES] + c * n].reshape((c, n))
            stride = hist + chunk
            now = layout[lrec + _BUF] + hist + pos
            b_res = layout[lrec + _B_RES]
            layer1x1 = layout[rec + _LAYER1X1] != 0
            for o in range(c):
                h = state[now + o * stride:now + o * stride + n]
                bias = weights[b_res + o] if layer1x1 else np.float32(0.0)
                for t in range(n):
                    res[o, t] = h[t] + bias
            if layer1x1:
                matmul_acc(res, weights, layout[lrec + _W_RES], act, c, n)
            if i + 1 < n_layers:
                nxt = lrec + _LAYER_RECORD
                _store(state, layout[nxt + _BUF], layout[nxt + _HIST], chunk, pos, res, c, n)
            else:
                rows_in = res  # the next array's input
        # the array's head: a causal conv (kernel 1 in A1) of the accumulator; the next array's accumulator
        # starts from its output
        head_k, head_hist, head_buf = layout[rec + _HEAD_K], layout[rec + _HEAD_HIST], layout[rec + _HEAD_BUF]
        _store(state, head_buf, head_hist, chunk, pos, head, acc_rows, n)
        out = state[head_out:head_out + n_heads * n].reshape((n_heads, n))
        b_head = layout[rec + _B_HEAD]
        for o in range(n_heads):
            bias = weights[b_head + o] if b_head >= 0 else np.float32(0.0)
            for t in range(n):
                out[o, t] = bias
        _conv(out, weights, layout[rec + _W_HEAD], state, layout[_COLS], head_buf, head_hist, chunk, pos, acc_rows,
              head_k, 1, n_heads, n)
        head_in, head_out = head_out, head_in
    rec = _ARRAYS + _ARRAY_RECORD * (end_array - 1)
    return state[head_in:head_in + layout[rec + _H] * n].reshape((layout[rec + _H], n))  # after the swap


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def process(layout, weights, state, cursor, x, y):
    """y[:] = model(x) for one block of any length, continuing from the stored history."""
    total = x.shape[0]
    chunk = layout[_CHUNK]
    start = 0
    while start < total:
        n = min(chunk, total - start)
        _chunk(layout, weights, state, cursor, x, y, start, n)
        start += n
