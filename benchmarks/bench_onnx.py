"""Real-time factor of the onnxruntime backend beside the numba kernel and torch streaming, one run.

Run: .venv/bin/python -m pytest benchmarks/bench_onnx.py --benchmark-columns=median,iqr --benchmark-group-by=group
RTF = processing time / audio time, one thread everywhere, 0.5 s of noise at 44.1 kHz in blocks of N
frames from a freshly initialised network of each preset (weights do not change the cost).
Backends: `onnxruntime` (engine/onnx_backend.py, one Python call per block, I/O binding);
`numba-per-call` (the kernel, one Python call per block: the same harness as onnxruntime);
`numba-compiled` (the kernel's compiled block loop, as in the JACK callback);
`torch` (training/onnx_export.StreamingNetwork, the graph onnxruntime runs, eager, one call per block).
"""

import numpy as np
import pytest
import torch

from bench_helpers import guitar_noise, record_rtf
from engine.models import load_model
from engine.onnx_backend import load_onnx_model
from training.export import export
from training.module import CaptureModule
from training.onnx_export import StreamingNetwork

RATE = 44100
SECONDS = 0.5
PRESETS = ["seed", "gated-16"]
BLOCKS = [64, 256]
BACKENDS = ["onnxruntime", "numba-per-call", "numba-compiled", "torch"]


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench_onnx")
    modules, files = {}, {}
    for preset in PRESETS:
        torch.manual_seed(0)
        modules[preset] = CaptureModule(preset=preset, sample_rate=RATE).eval()
        files[preset] = {fmt: export(modules[preset], folder / f"{preset}.{fmt}", fmt) for fmt in ("json", "onnx")}
    return modules, files


def per_call(process, x, y, block):
    for start in range(0, x.size, block):
        process(x[start:start + block], y[start:start + block])


def torch_streaming(module):
    streaming = StreamingNetwork(module.net).eval()
    states = streaming.initial_state()

    @torch.no_grad()
    def process(x, y):
        nonlocal states
        out, *states = streaming(torch.from_numpy(x), *states)
        y[:] = out.numpy()
    return process


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("block", BLOCKS)
@pytest.mark.parametrize("preset", PRESETS)
def test_backend_rtf(benchmark, exported, preset, block, backend):
    modules, files = exported
    x = guitar_noise(SECONDS, RATE)
    y = np.empty_like(x)
    if backend == "onnxruntime":
        args = (load_onnx_model(files[preset]["onnx"]).process, x, y, block)
        run = per_call
    elif backend == "numba-per-call":
        args = (load_model(files[preset]["json"]).process, x, y, block)
        run = per_call
    elif backend == "numba-compiled":
        run, args = load_model(files[preset]["json"]).process_in_blocks, (x, y, block)
    else:
        args = (torch_streaming(modules[preset]), x, y, block)
        run = per_call
    benchmark.group = f"{preset} block {block}"
    benchmark.pedantic(run, args=args, rounds=5, warmup_rounds=1)
    record_rtf(benchmark, SECONDS, model=preset, block=block, backend=backend)
