"""The streaming interface every model family promises (engine/streaming.py), checked on each family:
bit-identical output for any block partition, reset restores the initial state, causal with zero
added latency."""

import numpy as np
import pytest

from support.data import data_file
from support.audio import guitar_like, run_partition
from engine.models import load_model

FAMILIES = {
    "gated WaveNet (.json)": ("models", "wavenetva", "WaveNetVA_WaveNet2-ts7.json"),
    "NAM A1 WaveNet": ("models", "nam", "random_lite.nam"),
    "NAM A2 container": ("models", "nam-a2", "fuzzface_a2.nam"),
    "NAM LSTM": ("models", "nam-a2", "lstm.nam"),
}


@pytest.fixture(scope="module", params=list(FAMILIES), ids=list(FAMILIES))
def model(request):
    return load_model(data_file(*FAMILIES[request.param]))


def test_output_is_bit_identical_for_any_partition(model):
    """Blocks straddling the kernels' internal history compaction (every 2048 samples) included."""
    x = guitar_like(0.25, model.sample_rate, seed=5)
    whole = run_partition(model, x, [x.size])
    rng = np.random.default_rng(0)
    for sizes in ([1], [64], [2047, 2], [5000], list(rng.integers(1, 700, size=50))):
        assert np.array_equal(run_partition(model, x, sizes), whole), sizes


def test_reset_restores_the_initial_state(model):
    x = guitar_like(0.2, model.sample_rate, seed=1)
    first = run_partition(model, x, [64])
    model.process(guitar_like(0.1, model.sample_rate, seed=2))  # leave some history behind
    assert np.array_equal(run_partition(model, x, [64]), first)


def test_causal_and_zero_latency(model):
    """An impulse at sample n changes nothing before n and the output at n itself: no added latency."""
    silence = np.zeros(3000, np.float32)
    base = run_partition(model, silence, [64])
    impulse = silence.copy()
    impulse[1000] = 0.5
    out = run_partition(model, impulse, [64])
    assert np.array_equal(out[:1000], base[:1000])
    assert out[1000] != base[1000]
