"""A register-tile micro-kernel written in LLVM IR: the conv, 1x1 and head products of the NAM kernel.

    out[g, 0:T] += sum over k < taps, j < rows of
                   w[w_at + (k*rows + j)*w_stride + g] * src[src_at + j*src_stride - (taps-1-k)*dil + 0:T]

for G outputs g and T = LANES*NV consecutive samples, held in G*NV vectors of LANES floats across the
whole sum: each step loads NV input vectors and G weights (broadcast) and issues G*NV FMAs, and the
outputs are loaded and stored once per tile, not once per input as a loop over time innermost does.
The input rows are read in place from a history buffer (a conv tap is a row `(taps-1-k)*dil` samples
back), so no gathered copy is made.

Why IR and not a numba loop: LLVM's loop vectoriser only vectorises the innermost loop, and with time
innermost the accumulators go through memory on every input (about 10 GMAC/s here); with the inputs
innermost nothing vectorises. A numba @intrinsic states the tile directly. LANES follows the CPU numba
compiles for: 16 where it has AVX-512 (one zmm register; LLVM's vectorisers stay at 256 bits there,
so only IR that names the width gets it), else 8 (one AVX2 register, or two 128-bit NEON registers on
the Pi's Cortex-A76).

Each output sample gets the same chain of FMAs (one per input, in input order) in every tile shape:
results do not depend on where a sample falls in a block, so output is bit-identical for any block
partition. Samples past the caller's n in the last tile are computed too (the callers pad their rows).
"""

import llvmlite.binding as llvm
from llvmlite import ir
from numba import types
from numba.core import config
from numba.core import cgutils
from numba.extending import intrinsic



def _target_has_avx512() -> bool:
    """Whether the CPU numba compiles for (NUMBA_CPU_NAME/FEATURES, else this host) has AVX-512F."""
    features = config.CPU_FEATURES if config.CPU_NAME else llvm.get_host_cpu_features().flatten()
    return "+avx512f" in (features or "")


LANES = 16 if _target_has_avx512() else 8  # floats per LLVM vector
_F32 = ir.FloatType()
VEC = ir.VectorType(_F32, LANES)
I64 = ir.IntType(64)
_SPLAT = ir.Constant(ir.VectorType(ir.IntType(32), LANES), [0] * LANES)


def const(value: int) -> ir.Constant:
    return ir.Constant(I64, value)


def vload(builder, ptr, offset: int):
    """The vector of LANES floats at ptr + offset (a constant)."""
    return builder.load(builder.bitcast(builder.gep(ptr, [const(offset)]), VEC.as_pointer()), align=4)


def vstore(builder, value, ptr, offset: int) -> None:
    builder.store(value, builder.bitcast(builder.gep(ptr, [const(offset)]), VEC.as_pointer()), align=4)


def splat(builder, ptr, offset):
    """The float at ptr + offset (an IR value) in every lane."""
    scalar = builder.load(builder.gep(ptr, [offset]))
    return builder.shuffle_vector(builder.insert_element(ir.Constant(VEC, ir.Undefined), scalar,
                                                         ir.Constant(ir.IntType(32), 0)),
                                  ir.Constant(VEC, ir.Undefined), _SPLAT)


def link_phis(phis, entry, latch) -> None:
    """Each (phi, start, step) of a loop header: `start` when coming from `entry`, `step` from `latch`."""
    for phi, start, step in phis:
        phi.add_incoming(start, entry)
        phi.add_incoming(step, latch)


def totals_at_exit(builder, starts, ends, entry, latch) -> list:
    """At the loop's exit block: each accumulator's value, `starts` when the loop never ran (from
    `entry`), else `ends` (from the `latch`)."""
    totals = [builder.phi(VEC) for _ in starts]
    for total, start, end in zip(totals, starts, ends):
        total.add_incoming(start, entry)
        total.add_incoming(end, latch)
    return totals


def _codegen(groups: int, vectors: int):
    def codegen(context, builder, sig, args):
        (out_a, out_at, out_stride, w_a, w_at, w_stride, src_a, src_at, src_stride, rows, taps, dil,
         init_at, init_stride, init_w, init_b) = args
        fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(VEC, [VEC] * 3), f"llvm.fma.v{LANES}f32")
        out_p = context.make_array(sig.args[0])(context, builder, out_a).data
        w_p = context.make_array(sig.args[3])(context, builder, w_a).data
        src_p = context.make_array(sig.args[6])(context, builder, src_a).data

        out_rows = [builder.gep(out_p, [builder.add(out_at, builder.mul(out_stride, const(g)))]) for g in range(groups)]
        with builder.if_else(builder.icmp_signed("<", init_at, const(0))) as (accumulate, initialise):
            with accumulate:  # start from out
                from_out = [vload(builder, out_rows[g], v * LANES) for g in range(groups) for v in range(vectors)]
                from_out_block = builder.block
            with initialise:  # start from init_w[g] * src row g + init_b[g]
                from_init = []
                for g in range(groups):
                    row = builder.gep(src_p, [builder.add(init_at, builder.mul(init_stride, const(g)))])
                    scale = splat(builder, w_p, builder.add(init_w, const(g)))
                    bias = splat(builder, w_p, builder.add(init_b, const(g)))
                    from_init += [builder.call(fma, [scale, vload(builder, row, v * LANES), bias]) for v in range(vectors)]
                from_init_block = builder.block
        acc0 = []
        for a, b in zip(from_out, from_init):
            phi = builder.phi(VEC)
            phi.add_incoming(a, from_out_block)
            phi.add_incoming(b, from_init_block)
            acc0.append(phi)
        first_tap = builder.gep(src_p, [builder.sub(src_at, builder.mul(builder.sub(taps, const(1)), dil))])
        w0 = builder.gep(w_p, [w_at])
        entry = builder.block
        tap_loop = builder.append_basic_block("tile.tap")
        row_loop = builder.append_basic_block("tile.row")
        tap_next = builder.append_basic_block("tile.tap.next")
        done = builder.append_basic_block("tile.done")
        some = builder.and_(builder.icmp_signed(">", taps, const(0)), builder.icmp_signed(">", rows, const(0)))
        builder.cbranch(some, tap_loop, done)

        builder.position_at_end(tap_loop)  # k: the tap's first row and its weights
        k, tap_p, tap_w = builder.phi(I64), builder.phi(first_tap.type), builder.phi(w0.type)
        acc_k = [builder.phi(VEC) for _ in acc0]
        builder.branch(row_loop)

        builder.position_at_end(row_loop)  # j: one input row, G*NV FMAs
        j, row_p, row_w = builder.phi(I64), builder.phi(first_tap.type), builder.phi(w0.type)
        acc_j = [builder.phi(VEC) for _ in acc0]
        xs = [vload(builder, row_p, v * LANES) for v in range(vectors)]
        acc = list(acc_j)
        for g in range(groups):
            weight = splat(builder, row_w, const(g))
            for v in range(vectors):
                acc[g * vectors + v] = builder.call(fma, [xs[v], weight, acc_j[g * vectors + v]])
        j1, row_p1, row_w1 = builder.add(j, const(1)), builder.gep(row_p, [src_stride]), builder.gep(row_w, [w_stride])
        builder.cbranch(builder.icmp_signed("<", j1, rows), row_loop, tap_next)
        link_phis(((j, const(0), j1), (row_p, tap_p, row_p1), (row_w, tap_w, row_w1), *zip(acc_j, acc_k, acc)),
                  tap_loop, row_loop)

        builder.position_at_end(tap_next)
        k1, tap_p1 = builder.add(k, const(1)), builder.gep(tap_p, [dil])
        builder.cbranch(builder.icmp_signed("<", k1, taps), tap_loop, done)
        link_phis(((k, const(0), k1), (tap_p, first_tap, tap_p1), (tap_w, w0, row_w1), *zip(acc_k, acc0, acc)),
                  entry, tap_next)

        builder.position_at_end(done)
        totals = totals_at_exit(builder, acc0, acc, entry, tap_next)
        for g in range(groups):
            for v in range(vectors):
                vstore(builder, totals[g * vectors + v], out_rows[g], v * LANES)
        return context.get_dummy_value()
    return codegen


def make_tile(groups: int, vectors: int):
    """The micro-kernel for G = `groups` outputs and T = LANES x `vectors` samples, as a numba intrinsic:
    tile(out, out_at, out_stride, w, w_at, w_stride, src, src_at, src_stride, rows, taps, dil,
         init_at, init_stride, init_w, init_b): the sum starts from out (init_at < 0) or, saving a pass
    over memory, from w[init_w + g] * src[init_at + g*init_stride + 0:T] + w[init_b + g] (one FMA: the
    same rounding as the separate pass it replaces)."""

    @intrinsic
    def tile(typingctx, out, out_at, out_stride, w, w_at, w_stride, src, src_at, src_stride, rows, taps, dil,
             init_at, init_stride, init_w, init_b):
        i64 = types.int64
        return (types.void(out, i64, i64, w, i64, i64, src, i64, i64, i64, i64, i64, i64, i64, i64, i64),
                _codegen(groups, vectors))
    return tile
