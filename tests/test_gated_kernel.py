"""The gated WaveNet kernel against WaveNetVA's own C++ output, the numpy reference, and itself."""

import numpy as np
import pytest

from conftest import guitar_like, shared_path
from engine.formats.wavenetva_json import read_model
from engine.models import gated_wavenet_model, load_model
from engine.reference import gated_wavenet_forward

GOLDEN_MODELS = ["PedalNetRT_pedalnet", "SmartGuitarPedal_ts9_fullD", "WaveNetVA_WaveNet2-ts7"]
MIXED = [1, 7, 64, 1000, 3, 255, 2048, 4096, 17]


def run_partition(model, x, sizes):
    """Process x in blocks cycling through `sizes`, from reset state."""
    model.reset()
    out, pos, i = np.empty_like(x), 0, 0
    while pos < x.size:
        n = min(sizes[i % len(sizes)], x.size - pos)
        model.process(x[pos:pos + n], out[pos:pos + n])
        pos, i = pos + n, i + 1
    return out


@pytest.fixture(scope="module")
def golden_input():
    return np.load(shared_path("models", "wavenetva", "golden", "input_8192.npy"))


@pytest.mark.parametrize("name", GOLDEN_MODELS)
@pytest.mark.parametrize("blocks", [[1], [7], [64], [1000], MIXED], ids=["1", "7", "64", "1000", "mixed"])
def test_exact_mode_matches_wavenetva_cpp(name, blocks, golden_input):
    golden = np.load(shared_path("models", "wavenetva", "golden", f"{name}.out_8192.npy"))
    model = load_model(shared_path("models", "wavenetva", f"{name}.json"))
    out = run_partition(model, golden_input, blocks)
    assert np.max(np.abs(out - golden)) <= 5e-6


@pytest.mark.parametrize("name", GOLDEN_MODELS)
def test_fast_mode_error_is_small(name, golden_input):
    golden = np.load(shared_path("models", "wavenetva", "golden", f"{name}.out_8192.npy"))
    out = run_partition(load_model(shared_path("models", "wavenetva", f"{name}.json"), fast=True), golden_input, [64])
    assert np.max(np.abs(out - golden)) <= 1e-4


@pytest.mark.parametrize("name", GOLDEN_MODELS)
def test_kernel_agrees_with_numpy_reference_on_guitar(name):
    weights = read_model(shared_path("models", "wavenetva", f"{name}.json"))
    x = guitar_like(1.0, 44100, seed=3)
    expected = gated_wavenet_forward(weights, x)
    out = run_partition(gated_wavenet_model(weights), x, [64])
    assert np.max(np.abs(out - expected)) <= 5e-6


def test_output_is_bit_identical_for_any_partition():
    """Blocks straddling the internal history compaction (every 2048 samples) included."""
    model = load_model(shared_path("models", "wavenetva", "WaveNetVA_WaveNet2-ts7.json"))
    x = guitar_like(0.5, 44100, seed=5)
    whole = run_partition(model, x, [x.size])
    rng = np.random.default_rng(0)
    for sizes in ([1], [64], [2047, 2], [5000], list(rng.integers(1, 700, size=50))):
        assert np.array_equal(run_partition(model, x, sizes), whole), sizes


def test_reset_restores_the_initial_state():
    model = load_model(shared_path("models", "wavenetva", "SmartGuitarPedal_ts9_fullD.json"))
    x = guitar_like(0.2, 44100, seed=1)
    first = run_partition(model, x, [64])
    model.process(guitar_like(0.1, 44100, seed=2))  # leave some history behind
    assert np.array_equal(run_partition(model, x, [64]), first)


def test_causal_and_zero_latency():
    """An impulse at sample n changes nothing before n and the output at n itself: no added latency."""
    model = load_model(shared_path("models", "wavenetva", "WaveNetVA_WaveNet2-ts7.json"))
    silence = np.zeros(3000, np.float32)
    base = run_partition(model, silence, [64])
    impulse = silence.copy()
    impulse[1000] = 0.5
    out = run_partition(model, impulse, [64])
    assert np.array_equal(out[:1000], base[:1000])
    assert out[1000] != base[1000]


def test_every_seed_profile_loads_runs_and_stays_bounded():
    folder = shared_path("models", "seed-profiles")
    profiles = sorted(folder.glob("*.json"))
    assert len(profiles) == 15
    x = guitar_like(2.0, 44100, seed=7)
    for path in profiles:
        out = run_partition(load_model(path), x, [128])
        assert np.all(np.isfinite(out)), path.name
        assert 1e-4 < np.max(np.abs(out)) < 4.0, path.name
