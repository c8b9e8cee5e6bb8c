"""Streaming numba kernel of Neural Amp Modeler's LSTM: stacked LSTM cells, then a linear head.

Same four-flat-array design as the WaveNet kernels (see gated_wavenet.py), maths in
engine/formats/nam.py (`NamLSTM`). Per sample and layer, with [x; h] the layer input stacked on its
previous hidden state: (i, f, g, o) = W [x; h] + b; c <- sigmoid(f) c + sigmoid(i) tanh(g);
h <- sigmoid(o) tanh(c); layer l+1 reads layer l's h; the output is head . h_last + head_bias.

The recurrence is sample by sample, so the output is trivially identical for any block partition.
The file stores each layer's initial (h, c); reset zeroes the state and sets cursor[0] = 0, and the
first sample after that loads them (no allocation, no Python in the loop), as NeuralAmpModelerCore
starts from them before its half-second prewarm.
"""

import numpy as np
from numba import njit

from engine.formats.nam import NamLSTM
from engine.kernels.activations import sigmoid_mode, tanh_mode
from engine.kernels.packing import WeightPacker

FAMILY = 3

_FAMILY, _MODE, _N_LAYERS, _HIDDEN, _W_HEAD, _B_HEAD, _IFGO = range(7)
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
def process(layout, weights, state, cursor, x, y):
    """y[:] = model(x) for one block of any length, continuing from the stored state."""
    if cursor[0] == 0:
        _load_initial_state(layout, weights, state)
        cursor[0] = 1
    hidden, mode, n_layers = layout[_HIDDEN], layout[_MODE], layout[_N_LAYERS]
    ifgo = state[layout[_IFGO]:layout[_IFGO] + 4 * hidden]
    w_head, b_head = layout[_W_HEAD], weights[layout[_B_HEAD]]
    for t in range(x.shape[0]):
        previous = x[t:t + 1]  # layer 0's input
        for layer in range(n_layers):
            rec = _LAYERS + _LAYER_RECORD * layer
            n_in = layout[rec + _IN]
            cols = n_in + hidden
            xh = state[layout[rec + _XH]:layout[rec + _XH] + cols]
            cell = state[layout[rec + _CELL]:layout[rec + _CELL] + hidden]
            for j in range(n_in):
                xh[j] = previous[j]
            w = weights[layout[rec + _W]:layout[rec + _W] + 4 * hidden * cols].reshape((4 * hidden, cols))
            bias = weights[layout[rec + _B]:layout[rec + _B] + 4 * hidden]
            for r in range(4 * hidden):
                acc = bias[r]
                for j in range(cols):
                    acc += w[r, j] * xh[j]
                ifgo[r] = acc
            h = xh[n_in:]
            for j in range(hidden):  # torch's gate order: input, forget, cell (g), output
                cell[j] = (sigmoid_mode(ifgo[hidden + j], mode) * cell[j]
                           + sigmoid_mode(ifgo[j], mode) * tanh_mode(ifgo[2 * hidden + j], mode))
                h[j] = sigmoid_mode(ifgo[3 * hidden + j], mode) * tanh_mode(cell[j], mode)
            previous = h
        out = b_head
        for j in range(hidden):
            out += weights[w_head + j] * previous[j]
        y[t] = out
