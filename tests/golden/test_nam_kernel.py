"""The NAM WaveNet kernel against NeuralAmpModelerCore's own renders, a float64 reference, and itself."""

import numpy as np
import pytest
import soundfile as sf

from support.data import data_file
from support.audio import MIXED, assert_allocates_nothing, guitar_like, run_blocks, run_partition
from engine.models import load_model, nam_wavenet_model
from support.nam_reference import nam_forward, random_nam
GOLDEN_MODELS = ["wavenet_a1_standard", "random_lite", "random_feather", "random_nano"]


@pytest.fixture(scope="module")
def golden_input():
    return sf.read(data_file("models", "nam", "golden", "input_guitar_6s.wav"), dtype="float32")[0]


def golden(name):
    return sf.read(data_file("models", "nam", "golden", f"{name}.out.wav"), dtype="float32")[0]


@pytest.mark.parametrize("name", GOLDEN_MODELS)
@pytest.mark.parametrize("blocks", [1, 64, "mixed"])
def test_exact_mode_matches_neural_amp_modeler_core(name, blocks, golden_input):
    model = load_model(data_file("models", "nam", f"{name}.nam"))
    if blocks == "mixed":
        out = run_partition(model, golden_input, MIXED)
    else:
        out = run_blocks(model, golden_input, blocks)
    assert np.max(np.abs(out - golden(name)[:out.size])) <= 5e-5


@pytest.mark.parametrize("name", GOLDEN_MODELS)
def test_fast_mode_error_is_small(name, golden_input):
    out = run_blocks(load_model(data_file("models", "nam", f"{name}.nam"), fast=True), golden_input, 64)
    assert np.max(np.abs(out - golden(name))) <= 5e-4


def test_prewarm_is_what_core_does(golden_input):
    """Core prewarms a receptive field of zeros; without it the first ~4093 samples differ."""
    model = load_model(data_file("models", "nam", "wavenet_a1_standard.nam"))
    assert model.prewarm_samples == model.receptive_field == 4093
    expected = golden("wavenet_a1_standard")
    model.prewarm_samples = 0
    cold = run_blocks(model, golden_input, 64)
    assert np.max(np.abs(cold[:4093] - expected[:4093])) > 1e-3  # the check has teeth
    assert np.max(np.abs(cold[4093:] - expected[4093:])) <= 5e-5  # and only the start differs


SHAPES = {
    "all activations, gated, 3 arrays": [
        dict(channels=6, head_size=4, kernel_size=2, dilations=[1, 3, 9], activation="Tanh", gated=True),
        dict(channels=4, head_size=3, kernel_size=4, dilations=[2, 5], activation="LeakyReLU", negative_slope=0.2,
             head_bias=True),
        dict(channels=3, head_size=2, kernel_size=3, dilations=[1, 7], activation="SiLU", gated=True),
        dict(channels=2, head_size=1, kernel_size=3, dilations=[4, 1], activation="Hardswish", head_bias=True)],
    "relu, hardtanh, sigmoid, odd channels": [
        dict(channels=5, head_size=7, kernel_size=3, dilations=[1, 2, 64], activation="ReLU"),
        dict(channels=7, head_size=3, kernel_size=1, dilations=[1], activation="Hardtanh"),
        dict(channels=3, head_size=1, kernel_size=5, dilations=[3, 300], activation="Sigmoid", gated=True,
             head_bias=True)],
    # issue 11: every A2 knob the kernel reads, away from the A2 defaults
    "A2: bottleneck, head1x1, per-layer kernels/activations/gating, head kernel, layer1x1 off": [
        dict(channels=5, head_size=4, dilations=[1, 3, 7], kernel_sizes=[2, 6, 3], bottleneck=3, head1x1=4,
             activations=[("LeakyReLU", 0.2), ("Tanh", 0.01), ("SiLU", 0.01)], gating=[False, True, False],
             head_kernel_size=5),
        dict(channels=4, head_size=1, dilations=[2, 5], kernel_size=4, layer1x1=False, head_kernel_size=16,
             head_bias=True, activation="ReLU")],
    "A2 shape": [dict(channels=4, head_size=1, dilations=[1, 3, 7, 17, 1, 13], kernel_sizes=[6, 6, 6, 6, 15, 15],
                      activations=[("LeakyReLU", 0.01)] * 6, gating=[False] * 6, bottleneck=4, head_kernel_size=16,
                      head_bias=True)],
}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("fast, tolerance", [(False, 2e-6), (True, 2e-4)])
def test_kernel_agrees_with_float64_reference(shape, fast, tolerance):
    weights = random_nam(SHAPES[shape], seed=len(shape), head_scale=0.5)
    x = guitar_like(0.4, 48000, seed=11)
    expected = nam_forward(weights, x)
    out = run_partition(nam_wavenet_model(weights, fast=fast), x, MIXED)
    assert np.std(expected) > 1e-3  # the model is not trivially silent
    assert np.max(np.abs(out - expected)) <= tolerance


def test_output_is_bit_identical_for_any_partition():
    """Blocks straddling the internal history compaction (every 2048 samples) included."""
    model = load_model(data_file("models", "nam", "wavenet_a1_standard.nam"))
    x = guitar_like(0.5, 48000, seed=5)
    whole = run_partition(model, x, [x.size])
    rng = np.random.default_rng(0)
    for sizes in ([1], [64], [2047, 2], [5000], list(rng.integers(1, 700, size=50))):
        assert np.array_equal(run_partition(model, x, sizes), whole), sizes


def test_gated_model_is_bit_identical_for_any_partition():
    model = nam_wavenet_model(random_nam(SHAPES["all activations, gated, 3 arrays"], seed=3), fast=True)
    x = guitar_like(0.2, 48000, seed=6)
    whole = run_partition(model, x, [x.size])
    for sizes in ([1], [64], MIXED):
        assert np.array_equal(run_partition(model, x, sizes), whole), sizes



def test_processing_allocates_nothing():
    model = nam_wavenet_model(random_nam(SHAPES["all activations, gated, 3 arrays"], seed=4))
    assert_allocates_nothing(model, guitar_like(0.5, 48000, seed=8)[:64 * 300])
