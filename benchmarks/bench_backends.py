"""Every backend of `ampemu bench` on the same models in one run, with ratios against the numba kernel.

Run: .venv/bin/python -m pytest benchmarks/bench_backends.py -s --benchmark-columns=median,iqr --benchmark-group-by=group
The work is ampemu_tools/benchmarking.py's, exactly what `ampemu bench` times: built-in architectures with
random weights (ampemu_tools/bench_models.py), one thread, 64-frame blocks, each block timed on its own;
pytest-benchmark times the whole pass (median over rounds) and the last test prints each backend's
RTF and its ratio to `numba-exact` measured in this same process (so machine load cancels out
better than in absolute figures). NAM models run on the numba backends only.
"""

import numpy as np
import pytest

from bench_helpers import record_rtf
from ampemu_tools.bench_models import BUILTINS
from ampemu_tools.benchmarking import BACKENDS, Unavailable, backend_factory, bench_signal

BLOCK = 64
MODELS = ["seed", "gated-16", "nam-nano", "nam-standard"]
SECONDS = {"numba-exact": 1.0, "numba-fast": 1.0, "onnxruntime": 0.25, "torch": 0.1, "numpy-reference": 0.1}
RTF = {}  # (model, backend) -> RTF, filled as the tests run, read by test_ratios_to_numba_exact


# NAM models play on numba only (no torch module or ONNX export of NAM yet, no numpy reference)
CASES = [(m, b) for m in MODELS for b in BACKENDS if not m.startswith("nam-") or b.startswith("numba")]


@pytest.mark.parametrize("model, backend", CASES)
def test_backend_rtf(benchmark, tmp_path, model, backend):
    target = BUILTINS[model]()
    try:
        runner = backend_factory(backend)(target, tmp_path)
    except Unavailable as exc:  # torch or onnxruntime not installed
        pytest.skip(str(exc))
    seconds = SECONDS[backend]
    blocks = int(seconds * target.sample_rate) // BLOCK
    x = bench_signal(seconds, target.sample_rate)[:blocks * BLOCK]
    y = np.empty_like(x)
    times = np.zeros((2, blocks), np.int64)

    def one_pass():
        runner.reset()
        runner.timed(x, y, BLOCK, times, 10**12)

    benchmark.group = f"{model} block {BLOCK}"
    benchmark.pedantic(one_pass, rounds=3, warmup_rounds=1)
    RTF[model, backend] = record_rtf(benchmark, blocks * BLOCK / target.sample_rate, model=model, backend=backend,
                                     block=BLOCK)


def test_ratios_to_numba_exact():
    if not RTF:
        pytest.skip("run together with test_backend_rtf")
    print(f"\nRTF at {BLOCK} frames and ratio to numba-exact (same process):")
    for model in MODELS:
        base = RTF.get((model, "numba-exact"))
        for backend in BACKENDS:
            if (model, backend) in RTF and base:
                rtf = RTF[model, backend]
                print(f"  {model:13s} {backend:16s} RTF {rtf:8.4f}  x{rtf / base:8.2f}")
    assert all(v > 0 for v in RTF.values())
