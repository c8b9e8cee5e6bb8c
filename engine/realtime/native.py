"""The few low-level pieces compiled real-time code needs: raw pointers, a memory fence, a clock.

Everything here is callable from numba nopython code (and from a `@cfunc`), allocates nothing and
never touches Python objects. C functions are declared as numba `ExternalFunction`s, bound by symbol
name at link time, so the functions that use them stay cacheable (a ctypes function object would
bake its address into the code and disable numba's cache).
"""

from __future__ import annotations

import ctypes

import numpy as np
from numba import carray, cfunc, njit, types
from numba.core import cgutils
from numba.extending import intrinsic

import engine.kernels  # noqa: F401  (selects numba's cache directory before anything compiles)

CLOCK_MONOTONIC, CLOCK_THREAD_CPUTIME_ID = 1, 3  # Linux values; the only platform the host targets

# int clock_gettime(clockid_t, struct timespec *): libc is always linked into the process
_clock_gettime = types.ExternalFunction("clock_gettime", types.int32(types.int32, types.voidptr))


@intrinsic
def as_pointer(typingctx, address):
    """int64 address -> void*, so `numba.carray` can view memory that a descriptor array points to."""
    sig = types.voidptr(types.int64)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return sig, codegen


@intrinsic
def release_fence(typingctx):
    """Stores before the fence become visible to other threads before stores after it (ARM needs it)."""
    sig = types.void()

    def codegen(context, builder, signature, args):
        builder.fence("release")
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def acquire_fence(typingctx):
    """Loads after the fence see everything the writer stored before its release fence (ARM needs it)."""
    sig = types.void()

    def codegen(context, builder, signature, args):
        builder.fence("acquire")
        return context.get_dummy_value()

    return sig, codegen


# Python threads publish to and read from the callback through these two, with the fences a weakly
# ordered CPU needs. They are C functions called through ctypes with a raw address: calling an @njit
# function from Python would box the array into a numba MemInfo, which numba's allocation counters
# (the no-allocation tests) could not tell apart from an allocation in the callback.
@cfunc(types.void(types.voidptr, types.int64, types.int64), cache=True, error_model="numpy")
def _publish(base, index, value):
    words = carray(base, index + 1, np.int64)
    release_fence()
    words[index] = value


@cfunc(types.int64(types.voidptr, types.int64), cache=True, error_model="numpy")
def _load_acquire(base, index):
    value = carray(base, index + 1, np.int64)[index]
    acquire_fence()
    return value


_publish_c = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64)(_publish.address)
_load_acquire_c = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64)(_load_acquire.address)


def publish(array: np.ndarray, index: int, value: int) -> None:
    """array[index] = value (int64) after a release fence: what was stored before becomes visible first."""
    _publish_c(array.ctypes.data, index, value)


def load_acquire(array: np.ndarray, index: int) -> int:
    """array[index] (int64), then an acquire fence: later loads see what the writer stored before publishing."""
    return _load_acquire_c(array.ctypes.data, index)


@njit(cache=True, error_model="numpy")
def now_ns(timespec):
    """Monotonic time in nanoseconds; `timespec`: preallocated int64[2+] (tv_sec, tv_nsec, ...)."""
    _clock_gettime(CLOCK_MONOTONIC, timespec.ctypes.data)
    return timespec[0] * 1_000_000_000 + timespec[1]


@njit(cache=True, error_model="numpy")
def thread_cpu_ns(timespec):
    """CPU time this thread has used, in ns: compared with the wall clock it shows preemption."""
    _clock_gettime(CLOCK_THREAD_CPUTIME_ID, timespec.ctypes.data)
    return timespec[0] * 1_000_000_000 + timespec[1]


def address(array: np.ndarray) -> int:
    """Address of a C-contiguous array's first element (what a descriptor stores)."""
    if not array.flags.c_contiguous:
        raise ValueError("real-time arrays must be C-contiguous")
    return array.ctypes.data
