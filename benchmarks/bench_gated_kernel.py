"""Real-time factor of the gated WaveNet kernel (exact and fast) beside the numpy reference.

Run: .venv/bin/python -m pytest benchmarks/bench_gated_kernel.py --benchmark-columns=median,iqr
RTF = processing time / audio time, one thread, 1 s of audio at 44.1 kHz in blocks of N frames,
all in compiled code as in the JACK callback (no Python call per block).
The numpy reference (float64, whole signal at once) runs in the same session as the yardstick.
"""

import numpy as np
import pytest

from bench_helpers import data_file, guitar_noise, record_rtf
from engine.formats.wavenetva_json import read_model
from engine.models import gated_wavenet_model
from ampemu_tools.reference import gated_wavenet_forward

RATE = 44100
SECONDS = 1.0
MODELS = {
    "seed-4ch-2x9": ("models", "seed-profiles", "Klon-Centaur.json"),
    "wavenetva-8ch-2x9": ("models", "wavenetva", "WaveNetVA_WaveNet2-ts7.json"),
    "pedalnet-16ch-10": ("models", "wavenetva", "PedalNetRT_pedalnet.json"),
}
BLOCKS = [16, 32, 64, 128, 256]


@pytest.mark.parametrize("mode", ["exact", "fast"])
@pytest.mark.parametrize("block", BLOCKS)
@pytest.mark.parametrize("name", MODELS)
def test_kernel_rtf(benchmark, name, block, mode):
    model = gated_wavenet_model(read_model(data_file(*MODELS[name])), fast=mode == "fast")
    x = guitar_noise(SECONDS, RATE)
    y = np.empty_like(x)
    benchmark.group = f"{name} block {block}"
    benchmark.pedantic(model.process_in_blocks, args=(x, y, block), rounds=7, warmup_rounds=1)
    record_rtf(benchmark, SECONDS, model=name, block=block, mode=mode)


@pytest.mark.parametrize("name", MODELS)
def test_numpy_reference_rtf(benchmark, name):
    weights = read_model(data_file(*MODELS[name]))
    x = guitar_noise(SECONDS, RATE)
    benchmark.group = f"{name} numpy reference"
    benchmark.pedantic(gated_wavenet_forward, args=(weights, x), rounds=3)
    record_rtf(benchmark, SECONDS, model=name, block="whole", mode="numpy-float64")
