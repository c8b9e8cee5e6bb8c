"""A complex multiply-accumulate across many spectra, written in LLVM IR: the cabinet IR's inner sum.

    acc[0:T] += sum over i < count of x[x_at + i*x_stride + 0:T] * h[h_at + i*h_stride + 0:T]

(complex, real and imaginary parts in separate float32 rows) for T = LANES*VECTORS consecutive bins,
held in registers across the whole sum and stored once. Why IR: as a numba loop over bins with
partitions outside, the sums go through memory for every partition, and since the sums and the
input spectra lie in the same state array LLVM must check for overlap at run time; its vectorised
code then ran 5-15x slower than the arithmetic needs. Every call reads and writes WIDTH bins.
LANES is the NAM tile's (engine/kernels/tile.py): 16 floats with AVX-512, else 8 (two NEON
registers on the Pi); the IR names only generic vectors and llvm.fma, as the tile's does.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from engine.kernels.tile import I64, LANES, VEC, const, link_phis, totals_at_exit

# vectors per part: the 65 bins of a 64-sample partition in one pass over the spectra (80 bins, 10
# zmm sums) with AVX-512, else in three (24 bins: 6 ymm or 12 NEON sums, within the register files).
# The spectra's memory, not the FMAs, limits the sum: each extra pass reads it again.
VECTORS = 5 if LANES == 16 else 3
WIDTH = LANES * VECTORS  # bins per call; the caller pads its rows' ends (the lanes past them are not used)


def _codegen(context, builder, sig, args):
    acc_a, acc_re_at, acc_im_at, x_a, x_re_at, x_im_at, x_stride, h_a, h_re_at, h_im_at, h_stride, count = args
    vptr = VEC.as_pointer()
    fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(VEC, [VEC] * 3), f"llvm.fma.v{LANES}f32")
    acc_p = context.make_array(sig.args[0])(context, builder, acc_a).data
    x_p = context.make_array(sig.args[3])(context, builder, x_a).data
    h_p = context.make_array(sig.args[7])(context, builder, h_a).data

    def at(ptr, index, v):
        return builder.bitcast(builder.gep(ptr, [builder.add(index, const(v * LANES))]), vptr)

    def load(ptr, index, v):
        return builder.load(at(ptr, index, v), align=4)

    acc0 = [load(acc_p, at_, v) for at_ in (acc_re_at, acc_im_at) for v in range(VECTORS)]
    entry = builder.block
    loop = builder.append_basic_block("cmac.loop")
    done = builder.append_basic_block("cmac.done")
    builder.cbranch(builder.icmp_signed(">", count, const(0)), loop, done)

    builder.position_at_end(loop)
    i, xi_, hi_ = builder.phi(I64), builder.phi(I64), builder.phi(I64)
    acc_i = [builder.phi(VEC) for _ in acc0]
    sums_re, sums_im = [], []
    for v in range(VECTORS):  # (xr + i xi)(hr + i hi): re += xr hr - xi hi, im += xr hi + xi hr
        xr, xim = load(x_p, builder.add(x_re_at, xi_), v), load(x_p, builder.add(x_im_at, xi_), v)
        hr, him = load(h_p, builder.add(h_re_at, hi_), v), load(h_p, builder.add(h_im_at, hi_), v)
        sums_re.append(builder.call(fma, [builder.fneg(xim), him, builder.call(fma, [xr, hr, acc_i[v]])]))
        sums_im.append(builder.call(fma, [xim, hr, builder.call(fma, [xr, him, acc_i[VECTORS + v]])]))
    acc = sums_re + sums_im
    i1, xi1, hi1 = builder.add(i, const(1)), builder.add(xi_, x_stride), builder.add(hi_, h_stride)
    builder.cbranch(builder.icmp_signed("<", i1, count), loop, done)
    link_phis(((i, const(0), i1), (xi_, const(0), xi1), (hi_, const(0), hi1), *zip(acc_i, acc0, acc)), entry, loop)

    builder.position_at_end(done)
    totals = totals_at_exit(builder, acc0, acc, entry, loop)
    for n, at_ in enumerate((acc_re_at, acc_im_at)):
        for v in range(VECTORS):
            builder.store(totals[n * VECTORS + v], at(acc_p, at_, v), align=4)
    return context.get_dummy_value()


@intrinsic
def complex_multiply_add(typingctx, acc, acc_re_at, acc_im_at, x, x_re_at, x_im_at, x_stride, h, h_re_at, h_im_at,
                         h_stride, count):
    """acc[re, im at + 0:WIDTH] += sum over i < count of x[.. + i*x_stride] * h[.. + i*h_stride] (complex)."""
    i64 = types.int64
    return types.void(acc, i64, i64, x, i64, i64, i64, h, i64, i64, i64, i64), _codegen
