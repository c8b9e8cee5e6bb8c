"""Streaming numba kernel of Neural Amp Modeler's LSTM: stacked LSTM cells, then a linear head.

Same four-flat-array design as the WaveNet kernels (see gated_wavenet.py), maths in
engine/formats/nam/model.py (`NamLSTM`). Per sample and layer, with [x; h] the layer input stacked on its
previous hidden state: (i, f, g, o) = W [x; h] + b; c <- sigmoid(f) c + sigmoid(i) tanh(g);
h <- sigmoid(o) tanh(c); layer l+1 reads layer l's h; the output is head . h_last + head_bias.

Layer-major, like the WaveNet kernels: layer l runs over the whole block (up to CHUNK samples) before
layer l+1, keeping its hidden sequence in a (CHUNK, H) scratch the next layer reads; valid because
layer l at time t needs only its own past and layer l-1 at time t. Each sample sees the same
operations whatever the block size, so the output is identical for any block partition.
The file stores each layer's initial (h, c); reset zeroes the state and sets cursor[0] = 0, and the
first sample after that loads them (no allocation, no Python in the loop), as NeuralAmpModelerCore
starts from them before its half-second prewarm.
"""

import numpy as np
from numba import njit

from engine.formats.nam.model import NamLSTM
from engine.kernels.activations import sigmoid_mode, tanh_mode
from engine.kernels.packing import WeightPacker

FAMILY = 3
CHUNK = 2048  # longest run one layer processes at once; longer blocks are split (same result)

_FAMILY, _MODE, _N_LAYERS, _HIDDEN, _W_HEAD, _B_HEAD, _IFGO, _SEQ = range(8)
_LAYERS = 8
_IN, _W, _B, _H0, _C0, _XH, _CELL = range(7)
_LAYER_RECORD = 7


def build(model: NamLSTM, fast: bool):
    """Pack `model` into (layout, weights, state, cursor) for `process`."""
    hidden = model.hidden_size
    layout = np.zeros(_LAYERS + _LAYER_RECORD * model.num_layers, np.int64)
    layout[_FAMILY], layout[_MODE], layout[_N_LAYERS], layout[_HIDDEN] = FAMILY, int(fast), model.num_layers, hidden
    put = (packer := WeightPacker()).put

    state_size = 0
    for layer in range(model.num_layers):
        rec = _LAYERS + _LAYER_RECORD * layer
        n_in = model.w[layer].shape[1] - hidden
        layout[rec + _IN] = n_in
        layout[rec + _W] = put(model.w[layer])  # (4H, in + H) row-major: one dot product per gate row
        layout[rec + _B] = put(model.b[layer])
        layout[rec + _H0] = put(model.h0[layer])
        layout[rec + _C0] = put(model.c0[layer])
        layout[rec + _XH], layout[rec + _CELL] = state_size, state_size + n_in + hidden
        state_size += n_in + 2 * hidden
    layout[_W_HEAD] = put(model.head_weight)
    layout[_B_HEAD] = put([model.head_bias])
    layout[_IFGO] = state_size
    state_size += 4 * hidden
    layout[_SEQ] = state_size
    state_size += CHUNK * hidden
    return layout, packer.array(), np.zeros(state_size, np.float32), np.zeros(1, np.int64)


@njit(cache=True, error_model="numpy")
def _load_initial_state(layout, weights, state):
    hidden = layout[_HIDDEN]
    for layer in range(layout[_N_LAYERS]):
        rec = _LAYERS + _LAYER_RECORD * layer
        h = state[layout[rec + _XH] + layout[rec + _IN]:layout[rec + _XH] + layout[rec + _IN] + hidden]
        c = state[layout[rec + _CELL]:layout[rec + _CELL] + hidden]
        for j in range(hidden):
            h[j] = weights[layout[rec + _H0] + j]
            c[j] = weights[layout[rec + _C0] + j]


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def _layer(layout, weights, state, rec, x, seq, m, ifgo, hidden, mode):
    """One LSTM layer over m samples: input x[t] (layer 0) or seq[t] (the layer below); seq[t] <- h."""
    n_in = layout[rec + _IN]
    cols = n_in + hidden
    xh = state[layout[rec + _XH]:layout[rec + _XH] + cols]
    h = xh[n_in:]
    cell = state[layout[rec + _CELL]:layout[rec + _CELL] + hidden]
    w = weights[layout[rec + _W]:layout[rec + _W] + 4 * hidden * cols].reshape((4 * hidden, cols))
    bias = weights[layout[rec + _B]:layout[rec + _B] + 4 * hidden]
    for t in range(m):
        if rec == _LAYERS:
            xh[0] = x[t]
        else:
            for j in range(n_in):
                xh[j] = seq[t, j]
        for r in range(4 * hidden):
            acc = bias[r]
            for j in range(cols):
                acc += w[r, j] * xh[j]
            ifgo[r] = acc
        for j in range(hidden):  # torch's gate order: input, forget, cell (g), output
            cell[j] = (sigmoid_mode(ifgo[hidden + j], mode) * cell[j]
                       + sigmoid_mode(ifgo[j], mode) * tanh_mode(ifgo[2 * hidden + j], mode))
            h[j] = sigmoid_mode(ifgo[3 * hidden + j], mode) * tanh_mode(cell[j], mode)
            seq[t, j] = h[j]


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def process(layout, weights, state, cursor, x, y):
    """y[:] = model(x) for one block of any length, continuing from the stored state."""
    if cursor[0] == 0:
        _load_initial_state(layout, weights, state)
        cursor[0] = 1
    hidden, mode = layout[_HIDDEN], layout[_MODE]
    ifgo = state[layout[_IFGO]:layout[_IFGO] + 4 * hidden]
    seq = state[layout[_SEQ]:layout[_SEQ] + CHUNK * hidden].reshape((CHUNK, hidden))
    w_head = weights[layout[_W_HEAD]:layout[_W_HEAD] + hidden]
    b_head = weights[layout[_B_HEAD]]
    for start in range(0, x.shape[0], CHUNK):
        m = min(CHUNK, x.shape[0] - start)
        for layer in range(layout[_N_LAYERS]):
            _layer(layout, weights, state, _LAYERS + _LAYER_RECORD * layer, x[start:start + m], seq, m, ifgo,
                   hidden, mode)
        out = y[start:start + m]
        for t in range(m):
            acc = b_head
            for j in range(hidden):
                acc += w_head[j] * seq[t, j]
            out[t] = acc
