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


def di_like(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    """A guitar DI's statistics without a guitar: pink noise in a pickup's band (a 2nd-order high-pass
    at 150 Hz, a resonance at 2 kHz, 50 dB down by 6 kHz; the shared jcm800 DI: 60) under note
    envelopes (3 ms attacks, 0.1-0.8 s decays, 20 dB of dynamics), over an interface's white floor at
    -100 dBFS. Peaks at -6 dBFS. Deterministic for a seed."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    f = np.fft.rfftfreq(n, 1 / rate)
    s = 1j * f
    pickup = (s / 150) ** 2 / ((s / 150) ** 2 + 1.41 * s / 150 + 1)  # high-pass, 2nd order
    pickup = pickup / ((s / 2000) ** 2 + 0.7 * s / 2000 + 1) ** 2  # a resonance, then 24 dB/octave
    pink = np.fft.irfft(np.fft.rfft(rng.standard_normal(n)) * pickup / np.sqrt(np.maximum(f, 20.0)), n)
    t = np.arange(n) / rate
    envelope = np.zeros(n)
    start = 0.0
    while start < seconds:
        level = 10 ** (-rng.uniform(0, 20) / 20)
        since = t - start
        note = np.where(since >= 0, np.minimum(since / 0.003, 1.0) * np.exp(-since / rng.uniform(0.1, 0.8)), 0.0)
        envelope = np.maximum(envelope, level * note)
        start += rng.uniform(0.1, 0.6)
    di = pink * envelope
    di *= 0.5 / np.max(np.abs(di))
    return di + 10 ** (-100 / 20) * rng.standard_normal(n)
