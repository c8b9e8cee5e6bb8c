"""Streaming numba kernel of Neural Amp Modeler's WaveNet (layer arrays, heads, head_scale).

Same design as gated_wavenet.py (read that first): four flat arrays, layer-major, each layer's input
kept channel-major in a sliding buffer of `history + chunk (+ PAD)` samples so every conv tap is a
contiguous vector over time, and output bit-identical for any block partition. What NAM adds (the
maths is in engine/formats/nam/__init__.py):
- several layer arrays in a chain, each with a 1x1 "rechannel" in and a 1x1 head rechannel out;
- every layer mixes the raw input in before its activation, and any of NAM's activations (gated or
  not: act(z[:C]) * sigmoid(z[C:]));
- the head accumulator runs across arrays: array a's starts at array a-1's head output;
- A2: per-layer records carry their own kernel size, activation, slope and gating; a bottleneck B
  (conv/activation width) with layer1x1 B -> C or none (identity residual); an optional head1x1 whose
  output the head accumulates; the array's head is a causal conv (kernel 16 in A2, 1 in A1) over a
  sliding buffer of the accumulator, like a layer's.

Where the time goes (docs/engine.md has the profile): the products run in `linalg.tiled_acc`, a
register-tile micro-kernel that reads the conv taps in place from the history buffers and writes the
rechannel and residual 1x1s straight into the next layer's buffer (no copies). Every row is computed
in whole tiles (`width`: the block rounded up to TILE samples), so there is no remainder loop; the
samples past the block are slack (PAD) that the next block overwrites before reading.
Layers of few channels (FUSED_CHANNELS, A2-Lite's 3) that `fusable` accepts go through fused_layer.py
instead: the whole layer in one pass over the block, where at 3 channels the general path's passes and
calls cost more than its ~100 FMAs. The functions that run per block are compiled without numba's
reference counting (_nrt=False: they allocate nothing), whose atomic increments around every array
argument and view were 10 % of A2-Lite's time.
Elementwise stages (activation, gate, head accumulation) run as one flat loop over (channel, time);
loops index views with the range variable: numba's negative-index wraparound on a computed index into
the flat state stops LLVM's vectoriser (4x slower). fastmath={"contract"} (and nothing else of
fastmath) lets LLVM fuse a*b + c into one FMA instruction. It reorders nothing, so the vectorised loop
and its scalar remainder still do the same operations per sample and output stays bit-identical for
any partition (tested).
"""

import numpy as np
from numba import njit

from engine.formats.nam.activations import ACTIVATIONS
from engine.formats.nam.model import NamWaveNet
from engine.kernels.activations import FAST, sigmoid_mode, tanh_exact, tanh_fast
from engine.kernels.fused_layer import make_layer
from engine.kernels.linalg import DIL_1, NO_INIT, SHARED_ROW, TILE, tiled_acc
from engine.kernels.packing import WeightPacker

FAMILY = 2
# CHUNK: the longest run processed at once (longer blocks are split: same result), chosen per model: the
# largest whose history buffers (rows of history + CHUNK + PAD) fit HISTORY_BUDGET, so they stay in L2
# (a Cortex-A76 has 512 KiB); 2048 for every model gave A1 standard 2.2 MB and cost ~30 % in cache misses.
# A small CHUNK costs a more frequent move of each buffer's history to its front: the largest that fits.
CHUNKS = (2048, 1024, 512, 256)
HISTORY_BUDGET = 384 * 1024  # bytes
PAD = TILE  # slack past each row's end: the last tile of a block may run up to TILE - 1 samples past n

TANH, HARDTANH, RELU, LEAKY_RELU, SIGMOID, SILU, HARDSWISH = (ACTIVATIONS.index(name) for name in (
    "Tanh", "Hardtanh", "ReLU", "LeakyReLU", "Sigmoid", "SiLU", "Hardswish"))

# layout header slots (scratch slots are state offsets of (rows, n)-packed work arrays)
(_FAMILY, _MODE, _N_ARRAYS, _CHUNK, _HEAD_SCALE, _Z, _ACT, _RES, _HEAD_A, _HEAD_B, _N_LAYERS,
 _N_COND, _COND_SCALE, _COND, _COND_ROWS, _X, _ONES) = range(17)
_ARRAYS = 17  # per-array records start here: a condition_dsp's arrays (the first _N_COND), then the model's
(_IN, _C, _H, _LAYERS_IN, _FIRST, _W_RE, _W_HEAD, _B_HEAD, _B, _HEAD_IN, _HEAD_K, _HEAD_HIST, _HEAD_BUF,
 _LAYER1X1, _CONDITIONS) = range(15)
_ARRAY_RECORD = 15
_DIL, _K, _HIST, _ACTIVATION, _SLOPE, _GATED, _W_CONV, _B_CONV, _W_MIX, _W_RES, _B_RES, _BUF, _W_H1, _B_H1, _FUSED = \
    range(15)
_LAYER_RECORD = 15


FUSED_CHANNELS = 3  # layers of this width go through fused_layer.py when `fusable` says so
_FUSED_LAYER = make_layer(FUSED_CHANNELS)


def fusable(array, i: int) -> bool:
    """Whether layer i of `array` fits fused_layer.py: no bottleneck, layer1x1 and no head1x1, not gated,
    (leaky) ReLU, the mono input mixed in."""
    return (array.channels == FUSED_CHANNELS and array.inner_channels == array.channels and array.layer1x1
            and not array.head1x1_weights and not array.layer_gated(i) and array.condition_size == 1
            and array.layer_activation(i)[0] in ("LeakyReLU", "ReLU"))


def _buffers(model: NamWaveNet) -> list[tuple[int, int]]:
    """(rows, history) of every history buffer the kernel keeps: each layer's input, each array's head."""
    arrays = (model.condition_dsp.arrays if model.condition_dsp else []) + model.arrays
    return [(a.channels, (a.layer_kernel(i) - 1) * d) for a in arrays for i, d in enumerate(a.dilations)] + \
        [(a.head_in, a.head_kernel_size - 1) for a in arrays]


def chunk_for(model: NamWaveNet) -> int:
    buffers = _buffers(model)
    for chunk in CHUNKS:
        if 4 * sum(rows * (hist + chunk + PAD) for rows, hist in buffers) <= HISTORY_BUDGET:
            return chunk
    return CHUNKS[-1]


def history_floats(model: NamWaveNet) -> int:
    """Floats of history buffer the kernel allocates for `model` (scratch left out)."""
    chunk = chunk_for(model)
    return sum(rows * (hist + chunk + PAD) for rows, hist in _buffers(model))


def build(model: NamWaveNet, fast: bool):
    """Pack `model` into (layout, weights, state, cursor) for `process`."""
    condition = model.condition_dsp
    all_arrays = (condition.arrays if condition else []) + model.arrays
    n_arrays = len(all_arrays)
    n_layers = sum(len(a.dilations) for a in all_arrays)
    layers_at = _ARRAYS + _ARRAY_RECORD * n_arrays
    layout = np.zeros(layers_at + _LAYER_RECORD * n_layers, dtype=np.int64)
    chunk = chunk_for(model)
    layout[_FAMILY], layout[_MODE], layout[_N_ARRAYS], layout[_CHUNK] = FAMILY, int(fast), n_arrays, chunk
    layout[_N_LAYERS] = n_layers
    put = (packer := WeightPacker()).put

    state_size = 0

    def buffer(rows: int, hist: int) -> int:
        """A sliding history buffer: `rows` rows of hist + chunk + PAD samples."""
        nonlocal state_size
        state_size += rows * (hist + chunk + PAD)
        return state_size - rows * (hist + chunk + PAD)

    rows = {"z": 1, "act": 1, "res": 1, "head": 1}
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
            layout[lrec + _ACTIVATION] = ACTIVATIONS.index(activation)
            layout[lrec + _SLOPE] = put([slope if activation == "LeakyReLU" else 0.0])  # ReLU: a leaky one of slope 0
            layout[lrec + _FUSED] = int(fusable(array, i))
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
            rows["z"] = max(rows["z"], (2 if gated else 1) * b, c)
            layer += 1
        rows["act"] = max(rows["act"], b)
        rows["res"] = max(rows["res"], c)
        rows["head"] = max(rows["head"], head_in, array.head_size)
    layout[_HEAD_SCALE] = put([model.head_scale])
    layout[_ONES] = put(np.ones(max(a.channels for a in all_arrays)))  # a residual's input scale, fused in
    layout[_N_COND], layout[_COND_ROWS] = (len(condition.arrays), condition.arrays[-1].head_size) if condition else (0, 1)
    layout[_COND_SCALE] = put([condition.head_scale if condition else 1.0])
    # scratch: (rows, n rounded up to TILE) each, chunk a multiple of TILE
    for slot, count in ((_COND, layout[_COND_ROWS]), (_X, 1), (_Z, rows["z"]), (_ACT, rows["act"]), (_RES, rows["res"]),
                        (_HEAD_A, rows["head"]), (_HEAD_B, rows["head"])):
        layout[slot] = state_size
        state_size += count * chunk
    weights = packer.array()
    return layout, weights, np.zeros(state_size, np.float32), np.zeros(1, np.int64)


@njit(inline="always", cache=True, error_model="numpy")
def _shift(state, buf, rows, hist, chunk, used):
    """Move the last `hist` samples of each row of a history buffer to its front, in pieces of at most
    `used` samples: source and destination of a piece never overlap, so LLVM's vector copy runs."""
    stride = hist + chunk + PAD
    for ch in range(rows):
        row = state[buf + ch * stride:buf + ch * stride + used + hist]
        for start in range(0, hist, used):
            piece = min(used, hist - start)
            dst, src = row[start:start + piece], row[start + used:start + used + piece]
            for j in range(piece):
                dst[j] = src[j]


@njit(cache=True, _nrt=False, error_model="numpy")
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
def _fill(state, at, stride, rows, width, weights, bias_at):
    """Rows `rows` x `width` at `at` (rows `stride` apart) = their bias (bias_at < 0: zero)."""
    for o in range(rows):
        bias = weights[bias_at + o] if bias_at >= 0 else np.float32(0.0)
        row = state[at + o * stride:at + o * stride + width]
        for t in range(width):
            row[t] = bias


@njit(cache=True, _nrt=False, error_model="numpy", fastmath={"contract"})
def _chunk(layout, weights, state, cursor, x, y, start, n):
    chunk = layout[_CHUNK]
    pos = cursor[0]
    if pos + n > chunk:
        _compact(layout, state, pos)
        pos = 0
    width = (n + TILE - 1) // TILE * TILE  # every row is computed in whole tiles: samples n..width-1 are slack
    xin, xs = x[start:start + n], state[layout[_X]:layout[_X] + width]
    for t in range(n):
        xs[t] = xin[t]
    for t in range(n, width):
        xs[t] = np.float32(0.0)
    n_cond, cond = layout[_N_COND], layout[_COND]
    if n_cond > 0:  # the condition_dsp's output, times its head_scale, conditions the model's layers
        src = _net(layout, weights, state, np.int64(0), n_cond, pos, width)  # a literal 0: a second compile
        scale = weights[layout[_COND_SCALE]]
        size = layout[_COND_ROWS] * width
        cond_flat, src_flat = state[cond:cond + size], state[src:src + size]
        for e in range(size):
            cond_flat[e] = scale * src_flat[e]
    final = _net(layout, weights, state, n_cond, layout[_N_ARRAYS], pos, width)
    scale = weights[layout[_HEAD_SCALE]]
    out_y, out_final = y[start:start + n], state[final:final + n]
    for t in range(n):
        out_y[t] = scale * out_final[t]
    cursor[0] = pos + n


@njit(cache=True, _nrt=False, error_model="numpy", fastmath={"contract"})
def _net(layout, weights, state, first_array, end_array, pos, width):
    """Arrays first_array..end_array-1 on the input (row _X), conditioned by it (mono) or by the condition_dsp's
    rows (_COND); returns the state offset of the last array's head output, (rows, width).

    Every matrix is rows of `width` samples: scratch rows packed `width` apart, history-buffer rows
    hist + chunk + PAD apart, the block's samples starting at hist + pos."""
    chunk, fast = layout[_CHUNK], layout[_MODE] == FAST
    layers_at = _ARRAYS + _ARRAY_RECORD * layout[_N_ARRAYS]
    x_at = layout[_X]
    in_at, in_rows = x_at, 1  # the first array's input
    acc, out = layout[_HEAD_A], layout[_HEAD_B]  # head accumulator; the array's head output
    z, act = layout[_Z], layout[_ACT]
    for a in range(first_array, end_array):
        rec = _ARRAYS + _ARRAY_RECORD * a
        c, b, n_heads, n_layers = layout[rec + _C], layout[rec + _B], layout[rec + _H], layout[rec + _LAYERS_IN]
        acc_rows = layout[rec + _HEAD_IN]
        last_array = a + 1 == end_array
        if a == first_array:  # later arrays' accumulators start at the previous head's output (already in `acc`)
            _fill(state, acc, width, acc_rows, width, weights, -1)
        # rechannel 1x1 (no bias) straight into the first layer's buffer
        first = layers_at + _LAYER_RECORD * layout[rec + _FIRST]
        hist = layout[first + _HIST]
        stride, now = hist + chunk + PAD, layout[first + _BUF] + hist + pos
        _fill(state, now, stride, c, width, weights, -1)
        tiled_acc(state, now, stride, c, weights, layout[rec + _W_RE], state, in_at, width, in_rows, 1, 0, width,
                  *NO_INIT)
        for i in range(n_layers):
            lrec = first + _LAYER_RECORD * i
            dil, taps, hist = layout[lrec + _DIL], layout[lrec + _K], layout[lrec + _HIST]
            stride, now = hist + chunk + PAD, layout[lrec + _BUF] + hist + pos
            # the residual h' goes straight into the next layer's buffer, after the array's last layer into
            # _RES: the next array's input (after the net's last layer nothing reads it)
            if i + 1 < n_layers:
                nxt = lrec + _LAYER_RECORD
                dest_stride = layout[nxt + _HIST] + chunk + PAD
                dest = layout[nxt + _BUF] + layout[nxt + _HIST] + pos
            else:
                dest, dest_stride = layout[_RES], width
                in_at, in_rows = dest, c
            b_conv, w_mix, w_conv = layout[lrec + _B_CONV], layout[lrec + _W_MIX], layout[lrec + _W_CONV]
            if layout[lrec + _FUSED] != 0:  # few channels: the whole layer in one pass
                _FUSED_LAYER(state, weights, now, stride, taps, dil, x_at, w_conv, b_conv, w_mix, layout[lrec + _SLOPE],
                             layout[lrec + _W_RES], layout[lrec + _B_RES], dest, dest_stride, acc, width)
                continue
            c_conv = 2 * b if layout[lrec + _GATED] else b
            # z = conv bias + input mixin (1x1 of the raw input, no bias) + conv
            if layout[rec + _CONDITIONS] == 1:  # the mono input: bias + w x, the conv's first FMA
                tiled_acc(state, z, width, c_conv, weights, w_conv, state, now, stride, c, taps, dil, width,
                          x_at, SHARED_ROW, w_mix, b_conv)
            else:
                _fill(state, z, width, c_conv, width, weights, b_conv)
                tiled_acc(state, z, width, c_conv, weights, w_mix, state, layout[_COND], width, layout[_COND_ROWS], 1, 0,
                          width, *NO_INIT)
                tiled_acc(state, z, width, c_conv, weights, w_conv, state, now, stride, c, taps, dil, width, *NO_INIT)
            # activation, gate and head accumulation over flat (channel, time) data: few, long loops
            size = b * width
            act_flat = state[act:act + size]
            _activate(state[z:z + size], act_flat, size, layout[lrec + _ACTIVATION], weights[layout[lrec + _SLOPE]],
                      layout[_MODE])
            if c_conv != b:  # gated: the second half of z gates the first
                gate = state[z + size:z + 2 * size]
                if fast:
                    for e in range(size):
                        act_flat[e] *= np.float32(0.5) + np.float32(0.5) * tanh_fast(np.float32(0.5) * gate[e])
                else:
                    for e in range(size):
                        act_flat[e] *= np.float32(0.5) + np.float32(0.5) * tanh_exact(np.float32(0.5) * gate[e])
            w_h1 = layout[lrec + _W_H1]
            if w_h1 >= 0:  # head1x1: the head accumulates its output (bias + W act) instead of act
                b_h1 = layout[lrec + _B_H1]
                for o in range(acc_rows):
                    bias = weights[b_h1 + o]
                    row = state[acc + o * width:acc + (o + 1) * width]
                    for t in range(width):
                        row[t] += bias
                tiled_acc(state, acc, width, acc_rows, weights, w_h1, state, act, width, b, 1, 0, width, *NO_INIT)
            else:
                head_flat = state[acc:acc + size]
                for e in range(size):
                    head_flat[e] += act_flat[e]
            if last_array and i + 1 == n_layers:
                break  # the very last residual feeds nothing
            if layout[rec + _LAYER1X1] != 0:  # 1 * h + b, then + W act
                tiled_acc(state, dest, dest_stride, c, weights, layout[lrec + _W_RES], state, act, width, b, 1, 0, width,
                          now, stride, layout[_ONES], layout[lrec + _B_RES])
            else:
                for o in range(c):
                    h = state[now + o * stride:now + o * stride + width]
                    row = state[dest + o * dest_stride:dest + o * dest_stride + width]
                    for t in range(width):
                        row[t] = h[t]
        # the array's head: a causal conv of the accumulator (kernel 1 in A1: read in place); the next
        # array's accumulator starts from its output
        head_k, head_hist = layout[rec + _HEAD_K], layout[rec + _HEAD_HIST]
        src, src_stride = acc, width
        if head_k > 1:
            src_stride = head_hist + chunk + PAD
            src = layout[rec + _HEAD_BUF] + head_hist + pos
            for o in range(acc_rows):
                row, head = state[src + o * src_stride:src + o * src_stride + width], state[acc + o * width:acc + (o + 1) * width]
                for t in range(width):
                    row[t] = head[t]
        _fill(state, out, width, n_heads, width, weights, layout[rec + _B_HEAD])
        tiled_acc(state, out, width, n_heads, weights, layout[rec + _W_HEAD], state, src, src_stride, acc_rows, head_k,
                  DIL_1, width, *NO_INIT)
        acc, out = out, acc
    return acc  # after the swap: the last head's output


@njit(cache=True, _nrt=False, error_model="numpy", fastmath={"contract"})
def process(layout, weights, state, cursor, x, y):
    """y[:] = model(x) for one block of any length, continuing from the stored history."""
    total = x.shape[0]
    chunk = layout[_CHUNK]
    start = np.int64(0)  # not a literal: numba would compile _chunk once more for it
    while start < total:
        n = min(chunk, total - start)
        _chunk(layout, weights, state, cursor, x, y, start, n)
        start += n
