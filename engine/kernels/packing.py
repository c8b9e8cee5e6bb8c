"""Packing a model's tensors into one flat float32 weights array, as every kernel family stores them."""

import numpy as np

ALIGN = 64  # bytes: a cache line, and one AVX-512 vector


def aligned(array: np.ndarray) -> np.ndarray:
    """A copy of `array` starting on an ALIGN-byte boundary (numpy's own allocations promise 16 bytes),
    so that a kernel's vector loads at ALIGN-multiple offsets never straddle two cache lines."""
    buffer = np.empty(array.nbytes + ALIGN, np.uint8)
    start = -buffer.ctypes.data % ALIGN
    out = buffer[start:start + array.nbytes].view(array.dtype)
    out[:] = array.ravel()
    return out


class WeightPacker:
    """put(tensor) appends it flattened (row-major, float32) and returns its offset; array() joins them."""

    def __init__(self):
        self._chunks: list[np.ndarray] = []
        self._size = 0

    def put(self, values, align: int = 1) -> int:
        """`values`' offset, a multiple of `align` floats (zeros fill the gap)."""
        gap = -self._size % align
        if gap:
            self._chunks.append(np.zeros(gap, np.float32))
            self._size += gap
        flat = np.asarray(values, dtype=np.float32).ravel()
        self._chunks.append(flat)
        self._size += flat.size
        return self._size - flat.size

    def array(self) -> np.ndarray:
        return np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)
