"""Test data helpers: locating ../shared reference data (skip with a reason when absent), test signals."""

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def shared_path(*parts: str) -> Path:
    """Path inside ../shared; skips the calling test with a clear reason when it is missing."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference data {path} is missing (tests read ../shared next to the repo)")
    return path


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
