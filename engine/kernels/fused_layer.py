"""A whole NAM WaveNet layer for few channels in one pass, written in LLVM IR (A2-Lite's 3 channels).

For each tile of T = TILE consecutive samples (t < width), with C channels unrolled:

    z[o]    = w_mix[o] * x + b_conv[o] + sum over k < taps, j < C of w_conv[(k*C + j)*C + o] * h[j, t - (taps-1-k)*dil]
    a[o]    = max(z[o], 0) + slope * min(z[o], 0)          (LeakyReLU; ReLU is slope 0)
    head[o] += a[o]
    h'[o]   = h[o] + b_res[o] + sum over j < C of w_res[j*C + o] * a[j]   (the layer1x1 residual)

z, a and h' stay in registers (C x 2 vectors each): the layer costs one read of its input taps and
one write of the next layer's input, where the general path (nam_wavenet.py: tiled_acc for the conv
and for the 1x1, flat loops for the activation and the head) makes four passes and two calls. At 3
channels the tile's work per layer is ~100 FMAs, so those passes and calls were most of the time:
A2-Lite plays a 64-frame block in 0.6x the general path's time (A/B in one process, docs/engine.md).

Every sample gets the general path's operations in the same order (the conv's FMA chain from
bias + mixin, fma(slope, min, max), the residual's chain from 1 * h + b), so the output is the same
to the bit, and bit-identical for any block partition. Tried and not kept: splitting the conv's sum
into one partial sum per input row (chains a third as long, 18 zmm accumulators) was no faster.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from engine.kernels.tile import I64, LANES, VEC, const, link_phis, splat, vload, vstore

VECTORS = 2  # T = TILE: C x 2 accumulators (6 zmm or ymm at 3 channels; 12 NEON q registers)
_ZERO = ir.Constant(VEC, [0.0] * LANES)
_ONE = ir.Constant(VEC, [1.0] * LANES)


def _codegen(channels: int):
    C, NV = channels, VECTORS

    def codegen(context, builder, sig, args):
        (state_a, weights_a, now, stride, taps, dil, x_at, w_conv, b_conv, w_mix, slope_at, w_res, b_res,
         dest, dest_stride, head_at, width) = args
        fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(VEC, [VEC] * 3), f"llvm.fma.v{LANES}f32")
        s = context.make_array(sig.args[0])(context, builder, state_a).data
        w = context.make_array(sig.args[1])(context, builder, weights_a).data

        def at(base, row, row_stride, t):  # the state pointer of row `row` of a matrix at `base`, sample t
            return builder.gep(s, [builder.add(builder.add(base, builder.mul(row_stride, const(row))), t)])

        slope = splat(builder, w, slope_at)
        first_tap = builder.sub(now, builder.mul(builder.sub(taps, const(1)), dil))
        entry = builder.block
        tile = builder.append_basic_block("layer.tile")
        tap_loop = builder.append_basic_block("layer.tap")
        tile_end = builder.append_basic_block("layer.tile.end")
        done = builder.append_basic_block("layer.done")
        builder.cbranch(builder.icmp_signed(">", width, const(0)), tile, done)

        builder.position_at_end(tile)  # z starts at bias + mixin, as tiled_acc's init
        t = builder.phi(I64)
        x = builder.gep(s, [builder.add(x_at, t)])
        z0 = [builder.call(fma, [splat(builder, w, builder.add(w_mix, const(o))), vload(builder, x, v * LANES),
                                 splat(builder, w, builder.add(b_conv, const(o)))])
              for o in range(C) for v in range(NV)]
        tap_p0, w_p0 = builder.gep(s, [builder.add(first_tap, t)]), builder.gep(w, [w_conv])
        tile_block = builder.block
        builder.branch(tap_loop)

        builder.position_at_end(tap_loop)  # one tap: C input rows, C*C*NV FMAs in tiled_acc's order
        k, tap_p, tap_w = builder.phi(I64), builder.phi(tap_p0.type), builder.phi(w_p0.type)
        z_k = [builder.phi(VEC) for _ in z0]
        z = list(z_k)
        for j in range(C):
            row = builder.gep(tap_p, [builder.mul(stride, const(j))])
            xs = [vload(builder, row, v * LANES) for v in range(NV)]
            for o in range(C):
                weight = splat(builder, tap_w, const(j * C + o))
                for v in range(NV):
                    z[o * NV + v] = builder.call(fma, [xs[v], weight, z[o * NV + v]])
        k1, tap_p1, tap_w1 = builder.add(k, const(1)), builder.gep(tap_p, [dil]), builder.gep(tap_w, [const(C * C)])
        builder.cbranch(builder.icmp_signed("<", k1, taps), tap_loop, tile_end)
        link_phis(((k, const(0), k1), (tap_p, tap_p0, tap_p1), (tap_w, w_p0, tap_w1), *zip(z_k, z0, z)),
                  tile_block, tap_loop)

        builder.position_at_end(tile_end)
        act = []
        for o in range(C):  # activation, head accumulation
            head = at(head_at, o, width, t)
            for v in range(NV):
                zv = z[o * NV + v]
                positive = builder.select(builder.fcmp_ordered(">", zv, _ZERO), zv, _ZERO)
                negative = builder.select(builder.fcmp_ordered("<", zv, _ZERO), zv, _ZERO)
                a = builder.call(fma, [slope, negative, positive])
                act.append(a)
                vstore(builder, builder.fadd(vload(builder, head, v * LANES), a), head, v * LANES)
        for o in range(C):  # residual: 1 * h + b, then + W a, into the next layer's input
            h = at(now, o, stride, t)
            bias = splat(builder, w, builder.add(b_res, const(o)))
            r = [builder.call(fma, [_ONE, vload(builder, h, v * LANES), bias]) for v in range(NV)]
            for j in range(C):
                weight = splat(builder, w, builder.add(w_res, const(j * C + o)))
                r = [builder.call(fma, [act[j * NV + v], weight, r[v]]) for v in range(NV)]
            out = at(dest, o, dest_stride, t)
            for v in range(NV):
                vstore(builder, r[v], out, v * LANES)
        t1 = builder.add(t, const(LANES * NV))
        builder.cbranch(builder.icmp_signed("<", t1, width), tile, done)
        link_phis(((t, const(0), t1),), entry, tile_end)

        builder.position_at_end(done)
        return context.get_dummy_value()
    return codegen


def make_layer(channels: int):
    """The fused layer for C = `channels`, as a numba intrinsic:
    layer(state, weights, now, stride, taps, dil, x_at, w_conv, b_conv, w_mix, slope_at, w_res, b_res,
          dest, dest_stride, head_at, width): the layer's input rows at state[now + j*stride] (history
    before them), the mono input at x_at, weights as nam_wavenet.build packs them (conv (taps, C, C),
    1x1 (C, C)), the next layer's input rows written at dest + o*dest_stride, the head accumulator's
    rows at head_at + o*width; `taps` >= 1, `width` a multiple of TILE."""

    @intrinsic
    def layer(typingctx, state, weights, now, stride, taps, dil, x_at, w_conv, b_conv, w_mix, slope_at, w_res, b_res,
              dest, dest_stride, head_at, width):
        return types.void(state, weights, *[types.int64] * 15), _codegen(channels)
    return layer
