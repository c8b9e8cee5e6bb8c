"""Streaming numba kernel of Neural Amp Modeler's LSTM: stacked LSTM cells, then a linear head.

Same four-flat-array design as the WaveNet kernels (see gated_wavenet.py), maths in
engine/formats/nam/model.py (`NamLSTM`). Per sample and layer, with [x; h] the layer input stacked on its
previous hidden state: (i, f, g, o) = W [x; h] + b; c <- sigmoid(f) c + sigmoid(i) tanh(g);
h <- sigmoid(o) tanh(c); layer l+1 reads layer l's h; the output is head . h_last + head_bias.

An LSTM is a chain from sample to sample, so a small one's speed is the latency of one step and a
large one's the throughput of its matrix-vector product. One step of a block of hidden units is
written in LLVM IR (`_intrinsics`): the four gates of the block are four vectors (i, f, g, o of the
same units in the same lanes), summed in registers over the columns of [x; h] (each column one
broadcast and four FMAs; h's columns in two chains that run in parallel), their tanh computed on
whole vectors (activations.tanh_ir), and the cell and hidden updates lane by lane: no shuffles, no
scalar loop, nothing through memory but the cell and h. As numba loops the sums went through memory
on every column (gates, cell and inputs all lie in `state`, so LLVM could not keep them in registers)
and nothing vectorised: 1.0-1.3x NeuralAmpModelerCore's time on its hidden-3 LSTM, 3-20x on 8-32.
A block is NARROW = 8 units up to 8 hidden units, else WIDE (16 with AVX-512: one zmm register per
gate, else 8); the weights are packed per block, gate-interleaved, the hidden size padded to whole
blocks by zero rows (a padded unit stays at c = h = 0), each layer's blocks on a cache line of
64-byte aligned arrays. sigmoid(z) is (1 + tanh(z / 2)) / 2, with the halving folded into the i, f
and o rows at packing (exact: a power of two), so all four gates take one vector tanh. With several
blocks, a step sums every block's gates first and then updates them, so the blocks' activation
chains overlap.

Layer-major: layer l runs over the whole block (up to CHUNK samples) before layer l+1, writing its
hidden sequence into one of two (CHUNK, width) buffers that layer l+1 reads; valid because layer l at
time t needs only its own past and layer l-1 at time t. Each sample sees the same operations whatever
the block size, so the output is identical for any block partition. Row t-1 of a layer's output is
the h that step t reads; the last row is kept as the layer's h for the next block.
The file stores each layer's initial (h, c); reset zeroes the state and sets cursor[0] = 0, and the
first sample after that loads them (no allocation, no Python in the loop), as NeuralAmpModelerCore
starts from them before its half-second prewarm.
"""

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from engine.formats.nam.model import NamLSTM
from engine.kernels.activations import FAST, tanh_ir
from engine.kernels.packing import ALIGN, WeightPacker, aligned
from engine.kernels.tile import LANES

FAMILY = 3
CHUNK = 512  # longest run one layer processes at once; longer blocks are split (same result)
NARROW = 8  # units in a block of a small LSTM: one AVX register per gate, two NEON registers
WIDE = LANES  # units in the blocks of a wider one: 16 with AVX-512 (half the instructions), else 8

_FAMILY, _MODE, _N_LAYERS, _HIDDEN, _UNITS, _BLOCKS, _W_HEAD, _B_HEAD, _X, _SEQ, _Z = range(11)
_LAYERS = 11
_IN, _W, _H0, _C0, _H, _CELL = range(6)
_LAYER_RECORD = 6

_I64 = ir.IntType(64)
_SIGMOID_ROWS = np.array([0.5, 0.5, 1.0, 0.5], np.float32)  # i, f, o: sigmoid(z) from tanh(z / 2)


def block_units(hidden: int) -> int:
    """NARROW for up to NARROW units, else WIDE: a block of 16 costs about 1.3 blocks of 8 here (the
    same instructions on twice the lanes, but longer divisions), so it pays from 9 units on even where
    it pads more (24 units: 2 blocks of 16 are 15-20% faster than 3 of 8 on the bench machine)."""
    return NARROW if hidden <= NARROW else WIDE


def _pack_layer(w: np.ndarray, b: np.ndarray, hidden: int, blocks: int, units: int) -> np.ndarray:
    """Per block of `units` units: its gate bias, then one gate vector per column of [x; h]:
    (blocks, 1 + columns, 4, units), zero for padded units, the sigmoid rows halved."""
    cols = w.shape[1]
    packed = np.zeros((4, blocks * units, 1 + cols), np.float32)
    packed[:, :hidden, 0] = b.reshape(4, hidden)
    packed[:, :hidden, 1:] = w.reshape(4, hidden, cols)
    packed *= _SIGMOID_ROWS[:, None, None]
    return packed.reshape(4, blocks, units, 1 + cols).transpose(1, 3, 0, 2)


def build(model: NamLSTM, fast: bool):
    """Pack `model` into (layout, weights, state, cursor) for `process`."""
    hidden = model.hidden_size
    units = block_units(hidden)
    blocks = -(-hidden // units)
    width = blocks * units
    layout = np.zeros(_LAYERS + _LAYER_RECORD * model.num_layers, np.int64)
    layout[_FAMILY], layout[_MODE], layout[_N_LAYERS], layout[_HIDDEN] = FAMILY, int(fast), model.num_layers, hidden
    layout[_UNITS], layout[_BLOCKS] = units, blocks
    put = (packer := WeightPacker()).put

    state_size = 0
    for layer in range(model.num_layers):
        rec = _LAYERS + _LAYER_RECORD * layer
        layout[rec + _IN] = model.w[layer].shape[1] - hidden
        layout[rec + _W] = put(_pack_layer(model.w[layer], model.b[layer], hidden, blocks, units), ALIGN // 4)
        layout[rec + _H0] = put(model.h0[layer])
        layout[rec + _C0] = put(model.c0[layer])
        layout[rec + _H], layout[rec + _CELL] = state_size, state_size + width
        state_size += 2 * width
    layout[_W_HEAD] = put(model.head_weight)
    layout[_B_HEAD] = put([model.head_bias])
    layout[_Z] = state_size
    layout[_X] = state_size + 4 * width
    layout[_SEQ] = layout[_X] + CHUNK
    state_size = layout[_SEQ] + 2 * CHUNK * width
    # aligned arrays and block offsets: no vector load straddles two cache lines
    return layout, aligned(packer.array()), aligned(np.zeros(state_size, np.float32)), np.zeros(1, np.int64)


class _IR:
    """The IR of a step's two halves on one block of `units` units, for the intrinsics below."""

    def __init__(self, context, builder, sig, args, units):
        self.builder, self.units, self.vec = builder, units, ir.VectorType(ir.FloatType(), units)
        self.fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(self.vec, [self.vec] * 3),
                                                  f"llvm.fma.v{units}f32")
        self.arrays = [context.make_array(ty)(context, builder, arg).data if isinstance(ty, types.Array) else arg
                       for ty, arg in zip(sig.args, args)]

    def vector(self, ptr, at):
        return self.builder.bitcast(self.builder.gep(ptr, [at]), self.vec.as_pointer())

    def at(self, index, offset):
        return self.builder.add(index, ir.Constant(_I64, offset) if isinstance(offset, int) else offset)

    def splat(self, value):
        return ir.Constant(self.vec, [value] * self.units)

    def broadcast(self, ptr, at):
        b = self.builder
        scalar = b.insert_element(ir.Constant(self.vec, ir.Undefined), b.load(b.gep(ptr, [at])),
                                  ir.Constant(ir.IntType(32), 0))
        return b.shuffle_vector(scalar, ir.Constant(self.vec, ir.Undefined),
                                ir.Constant(ir.VectorType(ir.IntType(32), self.units), [0] * self.units))

    def columns(self, gates, count, s_p, src_at, w_p, w_from):
        """gates + sum over j < count of w[w_from + (4j + q)*units:][:units] * s[src_at + j], in j order."""
        b, zero = self.builder, ir.Constant(_I64, 0)
        entry = b.block
        loop, done = b.append_basic_block("lstm.col"), b.append_basic_block("lstm.col.done")
        b.cbranch(b.icmp_signed(">", count, zero), loop, done)
        b.position_at_end(loop)
        j = b.phi(_I64)
        acc = [b.phi(self.vec) for _ in gates]
        x = self.broadcast(s_p, b.add(src_at, j))
        row = b.add(w_from, b.mul(j, ir.Constant(_I64, 4 * self.units)))
        new = [b.call(self.fma, [b.load(self.vector(w_p, self.at(row, q * self.units)), align=4), x, a])
               for q, a in enumerate(acc)]
        j1 = self.at(j, 1)
        b.cbranch(b.icmp_signed("<", j1, count), loop, done)
        j.add_incoming(zero, entry)
        j.add_incoming(j1, loop)
        b.position_at_end(done)
        totals = [b.phi(self.vec) for _ in gates]
        for phis in (acc, totals):
            for phi, start, end in zip(phis, gates, new):
                phi.add_incoming(start, entry)
                phi.add_incoming(end, loop)
        return totals

    def gates(self, w_p, w_at, s_p, in_at, n_in, h_at, hidden):
        """The block's four gate vectors: bias, input columns and the first half of h's columns in one
        chain, the second half of h's in another (the two run in parallel: the step waits on h)."""
        b, row = self.builder, ir.Constant(_I64, 4 * self.units)
        gates = [b.load(self.vector(w_p, self.at(w_at, q * self.units)), align=4) for q in range(4)]
        w_x = self.at(w_at, 4 * self.units)
        gates = self.columns(gates, n_in, s_p, in_at, w_p, w_x)
        w_h = self.at(w_x, b.mul(n_in, row))
        first = b.ashr(hidden, ir.Constant(_I64, 1))
        gates = self.columns(gates, first, s_p, h_at, w_p, w_h)
        rest = self.columns([self.splat(0.0)] * 4, b.sub(hidden, first), s_p, self.at(h_at, first), w_p,
                            self.at(w_h, b.mul(first, row)))
        return [b.fadd(g, r) for g, r in zip(gates, rest)]

    def update(self, gates, s_p, cell_at, out_at, mode):
        """c <- sigmoid(f) c + sigmoid(i) tanh(g); h = sigmoid(o) tanh(c) to s[out_at:]."""
        b = self.builder
        cell_p = self.vector(s_p, cell_at)
        cell = b.load(cell_p, align=4)
        half = self.splat(0.5)
        results = []
        with b.if_else(b.icmp_signed("==", mode, ir.Constant(_I64, FAST))) as branches:
            for fast, branch in zip((True, False), branches):
                with branch:
                    t = [tanh_ir(b, self.fma, g, fast) for g in gates]
                    i, f, o = (b.call(self.fma, [t[q], half, half]) for q in (0, 1, 3))
                    c = b.call(self.fma, [i, t[2], b.fmul(f, cell)])
                    results.append((b.block, c, b.fmul(o, tanh_ir(b, self.fma, c, fast))))
        c, h = b.phi(self.vec), b.phi(self.vec)
        for block, c_, h_ in results:
            c.add_incoming(c_, block)
            h.add_incoming(h_, block)
        b.store(c, cell_p, align=4)
        b.store(h, self.vector(s_p, out_at), align=4)


_I = types.int64


def _intrinsics(units: int):
    """(step, gates, update) for blocks of `units` units, as numba intrinsics:
    step(w, w_at, s, in_at, n_in, h_at, hidden, cell_at, out_at, mode): one step of the block, its gates
    from w[w_at:] (_pack_layer's block), the input s[in_at:][:n_in] and the previous h s[h_at:][:hidden];
    updates its cell s[cell_at:][:units] and writes its new h to s[out_at:][:units].
    gates(w, w_at, s, in_at, n_in, h_at, hidden, z_at): step's first half, the gates to s[z_at:][:4*units].
    update(s, z_at, cell_at, out_at, mode): step's second half, from the gates at s[z_at:]."""

    def step_codegen(context, builder, sig, args):
        code = _IR(context, builder, sig, args, units)
        w_p, w_at, s_p, in_at, n_in, h_at, hidden, cell_at, out_at, mode = code.arrays
        code.update(code.gates(w_p, w_at, s_p, in_at, n_in, h_at, hidden), s_p, cell_at, out_at, mode)
        return context.get_dummy_value()

    def gates_codegen(context, builder, sig, args):
        code = _IR(context, builder, sig, args, units)
        w_p, w_at, s_p, in_at, n_in, h_at, hidden, z_at = code.arrays
        for q, gate in enumerate(code.gates(w_p, w_at, s_p, in_at, n_in, h_at, hidden)):
            builder.store(gate, code.vector(s_p, code.at(z_at, q * units)), align=4)
        return context.get_dummy_value()

    def update_codegen(context, builder, sig, args):
        code = _IR(context, builder, sig, args, units)
        s_p, z_at, cell_at, out_at, mode = code.arrays
        gates = [builder.load(code.vector(s_p, code.at(z_at, q * units)), align=4) for q in range(4)]
        code.update(gates, s_p, cell_at, out_at, mode)
        return context.get_dummy_value()

    @intrinsic
    def step(typingctx, w, w_at, s, in_at, n_in, h_at, hidden, cell_at, out_at, mode):
        return types.void(w, _I, s, _I, _I, _I, _I, _I, _I, _I), step_codegen

    @intrinsic
    def gates(typingctx, w, w_at, s, in_at, n_in, h_at, hidden, z_at):
        return types.void(w, _I, s, _I, _I, _I, _I, _I), gates_codegen

    @intrinsic
    def update(typingctx, s, z_at, cell_at, out_at, mode):
        return types.void(s, _I, _I, _I, _I), update_codegen

    return step, gates, update


_step_narrow, _gates_narrow, _update_narrow = _intrinsics(NARROW)
_step_wide, _gates_wide, _update_wide = _intrinsics(WIDE)


@njit(cache=True, error_model="numpy")
def _load_initial_state(layout, weights, state):
    hidden = layout[_HIDDEN]
    for layer in range(layout[_N_LAYERS]):
        rec = _LAYERS + _LAYER_RECORD * layer
        for j in range(hidden):
            state[layout[rec + _H] + j] = weights[layout[rec + _H0] + j]
            state[layout[rec + _CELL] + j] = weights[layout[rec + _C0] + j]


@njit(cache=True, error_model="numpy")
def _layer(layout, weights, state, rec, m, in_at, out_at):
    """One LSTM layer over m samples: input rows state[in_at + t*stride:][:n_in] (stride 1 for the first
    layer's samples, else the layer below's width); its h at time t goes to row t of the (m, width)
    sequence at out_at, and its last h to its state."""
    hidden, units, blocks = layout[_HIDDEN], layout[_UNITS], layout[_BLOCKS]
    wide, width = units != NARROW, blocks * units
    in_stride = width if rec > _LAYERS else 1
    n_in, h_at, cell_at, w_at = layout[rec + _IN], layout[rec + _H], layout[rec + _CELL], layout[rec + _W]
    block_weights = (1 + n_in + hidden) * 4 * units
    mode, z_at = layout[_MODE], layout[_Z]
    for t in range(m):
        prev, out, x_at = h_at if t == 0 else out_at + (t - 1) * width, out_at + t * width, in_at + t * in_stride
        if blocks == 1:
            if wide:
                _step_wide(weights, w_at, state, x_at, n_in, prev, hidden, cell_at, out, mode)
            else:
                _step_narrow(weights, w_at, state, x_at, n_in, prev, hidden, cell_at, out, mode)
            continue
        # all blocks' sums, then all updates: the blocks' activation chains overlap, as they would
        # not if each block's sums waited behind the previous block's activations
        for b in range(blocks):
            if wide:
                _gates_wide(weights, w_at + b * block_weights, state, x_at, n_in, prev, hidden, z_at + 4 * b * units)
            else:
                _gates_narrow(weights, w_at + b * block_weights, state, x_at, n_in, prev, hidden, z_at + 4 * b * units)
        for b in range(blocks):
            if wide:
                _update_wide(state, z_at + 4 * b * units, cell_at + b * units, out + b * units, mode)
            else:
                _update_narrow(state, z_at + 4 * b * units, cell_at + b * units, out + b * units, mode)
    for j in range(width):
        state[h_at + j] = state[out_at + (m - 1) * width + j]


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def process(layout, weights, state, cursor, x, y):
    """y[:] = model(x) for one block of any length, continuing from the stored state."""
    if cursor[0] == 0:
        _load_initial_state(layout, weights, state)
        cursor[0] = 1
    hidden, width = layout[_HIDDEN], layout[_UNITS] * layout[_BLOCKS]
    w_head = weights[layout[_W_HEAD]:layout[_W_HEAD] + hidden]
    b_head = weights[layout[_B_HEAD]]
    x_at, seq = layout[_X], layout[_SEQ]
    for start in range(0, x.shape[0], CHUNK):
        m = min(CHUNK, x.shape[0] - start)
        for t in range(m):
            state[x_at + t] = x[start + t]
        in_at = x_at
        for layer in range(layout[_N_LAYERS]):
            out_at = seq + (layer % 2) * CHUNK * width
            _layer(layout, weights, state, _LAYERS + _LAYER_RECORD * layer, m, in_at, out_at)
            in_at = out_at
        for t in range(m):
            acc = b_head
            for j in range(hidden):
                acc += w_head[j] * state[in_at + t * width + j]
            y[start + t] = acc
