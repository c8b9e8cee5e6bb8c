"""Test signals and ways to run a streaming model: block partitions and allocation counting."""

import numpy as np

# an irregular partition: single samples, odd sizes, blocks longer than the receptive field
MIXED = [1, 7, 64, 1000, 3, 255, 2048, 4096, 17]


def guitar_like(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    """A deterministic guitar-ish test signal: decaying plucked harmonics plus a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    out = np.zeros_like(t)
    for start in np.arange(0.0, seconds, 0.25):
        f0 = 82.4 * 2 ** (rng.integers(0, 36) / 12)
        env = np.where(t >= start, np.exp(-(t - start) * 4.0), 0.0)
        for h in range(1, 6):
            out += env * np.sin(2 * np.pi * f0 * h * (t - start)) / h
    out += 0.003 * rng.standard_normal(t.size)
    return (0.5 * out / np.max(np.abs(out))).astype(np.float32)


def run_partition(model, x: np.ndarray, sizes) -> np.ndarray:
    """Process x in blocks cycling through `sizes`, from the model's reset (prewarmed) state."""
    model.reset()
    out, pos, i = np.empty_like(x), 0, 0
    while pos < x.size:
        n = min(sizes[i % len(sizes)], x.size - pos)
        model.process(x[pos:pos + n], out[pos:pos + n])
        pos, i = pos + n, i + 1
    return out


def run_blocks(model, x, block):
    """Fixed-size blocks without a Python call per block (block 1 over seconds of audio)."""
    model.reset()
    out = np.empty_like(x)
    model.process_in_blocks(x, out, block)
    return out


def assert_allocates_nothing(model, x):
    """numba's allocator counts every heap allocation: 1 block and many blocks must cost the same."""
    from numba.core.runtime import _nrt_python, rtsys

    y = np.empty_like(x)
    blocks = x.size // 64

    def run(count):
        model.process_in_blocks(x[:64 * count], y[:64 * count], 64)

    def allocations(count):
        run(count)
        stats = rtsys.get_allocation_stats()
        return stats.alloc, stats.mi_alloc

    run(1)  # compile
    was_enabled = _nrt_python.memsys_stats_enabled()
    _nrt_python.memsys_enable_stats()
    try:
        before, one, many = allocations(0), allocations(1), allocations(blocks)
    finally:
        if not was_enabled:
            _nrt_python.memsys_disable_stats()
    assert np.subtract(many, one).tolist() == np.subtract(one, before).tolist()
    assert np.all(np.isfinite(y))
