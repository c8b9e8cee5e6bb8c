"""The gated WaveNet kernel against WaveNetVA's own C++ output, the numpy reference, and itself."""

import numpy as np
import pytest

from support.data import data_file, shared_path
from support.audio import guitar_like, run_partition
from engine.formats.wavenetva_json import read_model
from engine.models import gated_wavenet_model, load_model
from ampemu_tools.reference import gated_wavenet_forward

GOLDEN_MODELS = ["PedalNetRT_pedalnet", "SmartGuitarPedal_ts9_fullD", "WaveNetVA_WaveNet2-ts7"]
MIXED = [1, 7, 64, 1000, 3, 255, 2048, 4096, 17]


@pytest.fixture(scope="module")
def golden_input():
    return np.load(data_file("models", "wavenetva", "golden", "input_8192.npy"))


@pytest.mark.parametrize("name", GOLDEN_MODELS)
@pytest.mark.parametrize("blocks", [[1], [7], [64], [1000], MIXED], ids=["1", "7", "64", "1000", "mixed"])
def test_exact_mode_matches_wavenetva_cpp(name, blocks, golden_input):
    golden = np.load(data_file("models", "wavenetva", "golden", f"{name}.out_8192.npy"))
    model = load_model(data_file("models", "wavenetva", f"{name}.json"))
    out = run_partition(model, golden_input, blocks)
    assert np.max(np.abs(out - golden)) <= 5e-6


@pytest.mark.parametrize("name", GOLDEN_MODELS)
def test_fast_mode_error_is_small(name, golden_input):
    golden = np.load(data_file("models", "wavenetva", "golden", f"{name}.out_8192.npy"))
    out = run_partition(load_model(data_file("models", "wavenetva", f"{name}.json"), fast=True), golden_input, [64])
    assert np.max(np.abs(out - golden)) <= 1e-4


@pytest.mark.parametrize("name", GOLDEN_MODELS)
def test_kernel_agrees_with_numpy_reference_on_guitar(name):
    weights = read_model(data_file("models", "wavenetva", f"{name}.json"))
    x = guitar_like(1.0, 44100, seed=3)
    expected = gated_wavenet_forward(weights, x)
    out = run_partition(gated_wavenet_model(weights), x, [64])
    assert np.max(np.abs(out - expected)) <= 5e-6


def test_every_seed_profile_loads_runs_and_stays_bounded():
    folder = shared_path("models", "seed-profiles")  # all 15: tests/data holds 3
    profiles = sorted(folder.glob("*.json"))
    assert len(profiles) == 15
    x = guitar_like(2.0, 44100, seed=7)
    for path in profiles:
        out = run_partition(load_model(path), x, [128])
        assert np.all(np.isfinite(out)), path.name
        assert 1e-4 < np.max(np.abs(out)) < 4.0, path.name
