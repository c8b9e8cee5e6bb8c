"""Real-time factor of the NAM kernels (A1 standard/lite/feather/nano, A2-Full/A2-Lite, LSTM; exact and fast)
at 64-frame blocks.

Run: .venv/bin/python -m pytest benchmarks/bench_nam.py -s --benchmark-columns=median,iqr
RTF = processing time / audio time, one thread, 2 s of audio at 48 kHz in 64-frame blocks, all in
compiled code as in the JACK callback (no Python call per block). `-s` shows one line per case with
the RTF beside NeuralAmpModelerCore's figure on the same 2-core x86 machine (issue 5; C++, Eigen,
fast tanh, default build; not measured here; A2: issue 11, -march=native 0.061 for A2-Full) and, for the yardstick run in this same session, the
float64 numpy reference (whole signal at once).
"""

import numpy as np
import pytest

from bench_helpers import data_file, guitar_noise, record_rtf
from engine.formats.nam import read_nam
from engine.models import load_model
from support.nam_reference import nam_forward

RATE = 48000
SECONDS = 2.0
BLOCK = 64
# model -> (file under models/, --slim, NeuralAmpModelerCore's RTF at 64 frames, default build)
MODELS = {
    "standard": ("nam/wavenet_a1_standard.nam", None, 0.073),
    "lite": ("nam/random_lite.nam", None, None),
    "feather": ("nam/random_feather.nam", None, 0.028),
    "nano": ("nam/random_nano.nam", None, 0.023),
    "A2-Full": ("nam-a2/fuzzface_a2.nam", None, 0.085),
    "A2-Lite": ("nam-a2/fuzzface_a2.nam", 0.25, 0.015),
    "LSTM": ("nam-a2/lstm.nam", None, 0.004),
}
GOALS = {("standard", "fast"): 0.04, ("standard", "exact"): 0.07,
         ("feather", "fast"): 0.028, ("feather", "exact"): 0.028,
         ("nano", "fast"): 0.023, ("nano", "exact"): 0.023,
         ("A2-Full", "fast"): 0.04, ("A2-Full", "exact"): 0.06, ("A2-Lite", "fast"): 0.01, ("A2-Lite", "exact"): 0.01}


@pytest.mark.parametrize("mode", ["exact", "fast"])
@pytest.mark.parametrize("name", MODELS)
def test_nam_kernel_rtf(benchmark, name, mode):
    file, slim, core = MODELS[name]
    model = load_model(data_file("models", *file.split("/")), fast=mode == "fast", slim=slim)
    x = guitar_noise(SECONDS, RATE)
    y = np.empty_like(x)
    benchmark.group = f"NAM block {BLOCK}"
    benchmark.pedantic(model.process_in_blocks, args=(x, y, BLOCK), rounds=7, warmup_rounds=1)
    rtf = record_rtf(benchmark, SECONDS, model=name, block=BLOCK, mode=mode)
    goal = GOALS.get((name, mode))
    print(f"\nNAM {name:8s} {mode:5s} block {BLOCK}: RTF {rtf:.4f}"
          + (f"  (Core default build {core})" if core else "")
          + (f"  goal <= {goal}: {'met' if rtf <= goal else 'MISSED'}" if goal else ""))


def test_numpy_reference_rtf(benchmark):
    weights = read_nam(data_file("models", *MODELS["standard"][0].split("/")))
    x = guitar_noise(SECONDS, RATE)
    benchmark.group = "NAM numpy reference"
    benchmark.pedantic(nam_forward, args=(weights, x), rounds=3)
    rtf = record_rtf(benchmark, SECONDS, model="standard", block="whole", mode="numpy-float64")
    print(f"\nNAM standard numpy float64 reference (whole signal): RTF {rtf:.4f}")
