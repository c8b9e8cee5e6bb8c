"""Packing a model's tensors into one flat float32 weights array, as every kernel family stores them."""

import numpy as np


class WeightPacker:
    """put(tensor) appends it flattened (row-major, float32) and returns its offset; array() joins them."""

    def __init__(self):
        self._chunks: list[np.ndarray] = []
        self._size = 0

    def put(self, values) -> int:
        flat = np.asarray(values, dtype=np.float32).ravel()
        self._chunks.append(flat)
        self._size += flat.size
        return self._size - flat.size

    def array(self) -> np.ndarray:
        return np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.float32)
