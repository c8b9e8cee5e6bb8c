"""Benchmark helpers: real-time factor bookkeeping shared by every benchmark module."""

import numpy as np
from support.data import data_file  # the tests' data locator (tests/ is on sys.path)

__all__ = ["data_file", "record_rtf", "guitar_noise"]


def record_rtf(benchmark, audio_seconds: float, **info) -> float:
    """Store the real-time factor of the benchmark's median in extra_info and return it."""
    median = benchmark.stats.stats.median
    rtf = median / audio_seconds
    benchmark.extra_info.update(info, rtf_median=round(rtf, 5), audio_seconds=audio_seconds)
    return rtf


def guitar_noise(seconds: float, rate: int) -> np.ndarray:
    rng = np.random.default_rng(1)
    return (0.3 * rng.standard_normal(int(seconds * rate))).astype(np.float32)
