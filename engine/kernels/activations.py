"""tanh and sigmoid for the kernels, in two accuracies, written so LLVM vectorises them.

Compiled with error_model="numpy": Python's division-by-zero check would stop vectorisation.
Scalar libm calls do not vectorise and cost several times more than the rest of a layer, so both
modes are branch-free rational functions (clamps become vector min/max):
- exact: a 13/6-degree odd rational minimax fit of tanh on [-7.9, 7.9] (the form Eigen uses for
  float tanh), a few float32 ulp from the true value: indistinguishable from libm at the goldens'
  tolerance.
- fast: the [7/6] Pade approximant clamped to [-1, 1], max error about 1e-4 near |x| = 5.
sigmoid(x) = (1 + tanh(x / 2)) / 2 exactly, so it inherits the accuracy of tanh.
`tanh_ir` writes the same functions on an LLVM vector, for kernels written in IR (nam_lstm.py).
"""

import numpy as np
from llvmlite import ir
from numba import njit

EXACT = 0
FAST = 1

_CLAMP = np.float32(7.90531110763549805)
_A1 = np.float32(4.89352455891786e-03)
_A3 = np.float32(6.37261928875436e-04)
_A5 = np.float32(1.48572235717979e-05)
_A7 = np.float32(5.12229709037114e-08)
_A9 = np.float32(-8.60467152213735e-11)
_A11 = np.float32(2.00018790482477e-13)
_A13 = np.float32(-2.76076847742355e-16)
_B0 = np.float32(4.89352518554385e-03)
_B2 = np.float32(2.26843463243900e-03)
_B4 = np.float32(1.18534705686654e-04)
_B6 = np.float32(1.19825839466702e-06)

_FAST_CLAMP = np.float32(5.0)
_ONE = np.float32(1.0)
_HALF = np.float32(0.5)


@njit(inline="always", cache=True, error_model="numpy")
def tanh_exact(x):
    x = min(max(x, -_CLAMP), _CLAMP)
    x2 = x * x
    p = x2 * _A13 + _A11
    p = x2 * p + _A9
    p = x2 * p + _A7
    p = x2 * p + _A5
    p = x2 * p + _A3
    p = x2 * p + _A1
    q = x2 * _B6 + _B4
    q = x2 * q + _B2
    q = x2 * q + _B0
    return x * p / q


@njit(inline="always", cache=True, error_model="numpy")
def tanh_fast(x):
    x = min(max(x, -_FAST_CLAMP), _FAST_CLAMP)
    x2 = x * x
    p = x * (np.float32(135135.0) + x2 * (np.float32(17325.0) + x2 * (np.float32(378.0) + x2)))
    q = np.float32(135135.0) + x2 * (np.float32(62370.0) + x2 * (np.float32(3150.0) + x2 * np.float32(28.0)))
    return min(max(p / q, -_ONE), _ONE)


@njit(inline="always", cache=True, error_model="numpy")
def tanh_mode(x, mode):
    if mode == FAST:
        return tanh_fast(x)
    return tanh_exact(x)


@njit(inline="always", cache=True, error_model="numpy")
def sigmoid_mode(x, mode):
    return _HALF + _HALF * tanh_mode(_HALF * x, mode)


def tanh_ir(builder: ir.IRBuilder, fma, x, fast: bool):
    """tanh_fast or tanh_exact of each lane of the float vector `x`, in IR (`fma`: llvm.fma of x's type),
    for a recurrence that waits on each result: the same clamps and rational function, its polynomials
    evaluated by Estrin's scheme (pairs, then pairs of pairs) rather than Horner's, a chain of 3-4
    dependent multiply-adds instead of 7 (within a few float32 ulp of the numba versions)."""
    def splat(value):
        return ir.Constant(x.type, [float(value)] * x.type.count)

    def clamp(v, limit):  # a NaN passes (unordered compares), so the engine's guard sees it and resets
        v = builder.select(builder.fcmp_unordered(">", v, splat(-limit)), v, splat(-limit))
        return builder.select(builder.fcmp_unordered("<", v, splat(limit)), v, splat(limit))

    def estrin(y, coefficients):
        """sum of coefficients[k] * y**k."""
        terms = [splat(c) for c in coefficients]
        power = y
        while len(terms) > 1:
            terms = [builder.call(fma, [terms[k + 1], power, terms[k]]) if k + 1 < len(terms) else terms[k]
                     for k in range(0, len(terms), 2)]
            if len(terms) > 1:
                power = builder.fmul(power, power)
        return terms[0]

    # the clamped x's square is the square's min with the clamp's: the polynomials need not wait for the clamp
    limit = _FAST_CLAMP if fast else _CLAMP
    x2 = builder.fmul(x, x)
    x2 = builder.select(builder.fcmp_unordered("<", x2, splat(limit * limit)), x2, splat(limit * limit))
    x = clamp(x, limit)
    if fast:
        p = builder.fmul(x, estrin(x2, (135135.0, 17325.0, 378.0, 1.0)))
        return clamp(builder.fdiv(p, estrin(x2, (135135.0, 62370.0, 3150.0, 28.0))), _ONE)
    p = estrin(x2, (_A1, _A3, _A5, _A7, _A9, _A11, _A13))
    return builder.fdiv(builder.fmul(x, p), estrin(x2, (_B0, _B2, _B4, _B6)))
