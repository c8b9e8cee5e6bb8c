"""NAM A2 WaveNets, LSTMs and slimmable containers against NeuralAmpModelerCore's renders, a float64
reference, and themselves (issue 11)."""

import json

import numpy as np
import pytest
import soundfile as sf

from support.data import data_file
from support.audio import MIXED, assert_allocates_nothing, guitar_like, run_blocks, run_partition
from engine.cli import main
from engine.errors import AmpemuError
from engine.formats.nam import NamContainer, array_config, parse_nam, read_nam, to_document
from engine.models import load_model
GOLDENS = [
    ("fuzzface_a2", None, "fuzzface_a2"), ("fuzzface_a2", 0.25, "fuzzface_a2.slim0.25"),
    ("lstm", None, "lstm"),
    ("slimmable_container", None, "slimmable_container"), ("slimmable_container", 0.0, "slimmable_container.slim0.0"),
    ("slimmable_container", 0.5, "slimmable_container.slim0.5"),
    ("slimmable_wavenet", None, "slimmable_wavenet"), ("slimmable_wavenet", 0.0, "slimmable_wavenet.slim0.0"),
    ("slimmable_wavenet", 0.5, "slimmable_wavenet.slim0.5"),
    ("wavenet_condition_dsp", None, "wavenet_condition_dsp"),
]


def a2_path(name):
    return data_file("models", "nam-a2", f"{name}.nam")


def golden(name):
    return sf.read(data_file("models", "nam-a2", "golden", f"{name}.out.wav"), dtype="float32")[0]


@pytest.fixture(scope="module")
def guitar():
    return sf.read(data_file("models", "nam", "golden", "input_guitar_6s.wav"), dtype="float32")[0]


@pytest.mark.parametrize("name, slim, expected", GOLDENS)
@pytest.mark.parametrize("blocks", [1, 64, "mixed"])
def test_matches_neural_amp_modeler_core(name, slim, expected, blocks, guitar):
    model = load_model(a2_path(name), slim=slim)
    if blocks == "mixed":
        out = run_partition(model, guitar, MIXED)
    else:
        out = run_blocks(model, guitar, blocks)
    assert np.max(np.abs(out - golden(expected)[:out.size])) <= 5e-5


def test_fast_mode_of_a2_is_within_tolerance(guitar):
    """A2's LeakyReLU needs no tanh: fast mode stays at the exact tolerance."""
    out = run_blocks(load_model(a2_path("fuzzface_a2"), fast=True), guitar, 64)
    assert np.max(np.abs(out - golden("fuzzface_a2"))) <= 5e-5


def test_lstm_fast_mode_error_is_small(guitar):
    out = run_blocks(load_model(a2_path("lstm"), fast=True), guitar, 64)
    assert np.max(np.abs(out - golden("lstm"))) <= 5e-4


def test_prewarm_lengths_are_cores():
    assert load_model(a2_path("fuzzface_a2")).prewarm_samples == 6347
    assert load_model(a2_path("fuzzface_a2"), slim=0).receptive_field == 6347
    assert load_model(a2_path("lstm")).prewarm_samples == 24000  # half a second at 48 kHz


@pytest.mark.parametrize("slim, submodel", [(None, 2), (0.0, 1), (0.25, 1), (0.4999, 1), (0.5, 2), (1.0, 2)])
def test_slim_picks_cores_submodel(slim, submodel):
    """The first submodel with V < max_value, else the last: 0.5 exactly goes to the larger."""
    assert f"playing submodel {submodel} " in load_model(a2_path("fuzzface_a2"), slim=slim).description


@pytest.mark.parametrize("slim, submodel", [(0.0, 1), (0.329, 1), (0.33, 2), (0.65, 2), (0.66, 3), (1.0, 3)])
def test_slim_boundaries_of_a_three_way_container(slim, submodel):
    doc = read_nam(a2_path("slimmable_container"))
    assert isinstance(doc, NamContainer) and doc.index_for(slim) == submodel - 1


@pytest.mark.parametrize("slim", [-0.1, 1.5])
def test_slim_outside_0_1_is_refused(slim):
    with pytest.raises(AmpemuError, match="the size must be in 0..1"):
        load_model(a2_path("fuzzface_a2"), slim=slim)


def _container(submodels):
    return {"version": "0.7.0", "architecture": "SlimmableContainer", "config": {"submodels": submodels},
            "weights": [], "sample_rate": 48000}


def _lstm_doc():
    return json.loads(a2_path("lstm").read_text())


@pytest.mark.parametrize("submodels, message", [
    ([], "'submodels' must be a non-empty list"),
    (lambda: [{"max_value": 0.8, "model": _lstm_doc()}, {"max_value": 0.5, "model": _lstm_doc()}],
     "must be sorted by increasing max_value (submodel 1: 0.5 after 0.8)"),
    (lambda: [{"max_value": 1.0, "model": dict(_lstm_doc(), architecture="ConvNet")}],
     "(submodel 0): architecture 'ConvNet' is not supported"),
    (lambda: [{"max_value": 1.0, "model": _container([{"max_value": 1.0, "model": _lstm_doc()}])}],
     "submodel 0 is itself a container"),
    (lambda: [{"max_value": "big", "model": _lstm_doc()}], "submodel 0 max_value 'big' is not a number"),
    (lambda: [{"model": _lstm_doc()}], "submodel 0 must be an object with max_value and model"),
])
def test_bad_containers_are_one_clear_line(tmp_path, submodels, message):
    path = tmp_path / "c.nam"
    path.write_text(json.dumps(_container(submodels() if callable(submodels) else submodels)))
    with pytest.raises(AmpemuError) as info:
        load_model(path)
    text = str(info.value)
    assert message in text and str(path) in text and "\n" not in text


def test_lstm_weight_count_is_checked(tmp_path):
    doc = _lstm_doc()
    doc["weights"].pop()
    (tmp_path / "l.nam").write_text(json.dumps(doc))
    with pytest.raises(AmpemuError, match="has 69 weights but its config needs 70"):
        load_model(tmp_path / "l.nam")


@pytest.mark.parametrize("name, slim", [("fuzzface_a2", None), ("lstm", None), ("wavenet_condition_dsp", None)])
def test_output_is_bit_identical_for_any_partition(name, slim):
    model = load_model(a2_path(name), slim=slim)
    x = guitar_like(0.3, 48000, seed=5)
    whole = run_partition(model, x, [x.size])
    for sizes in ([1], [64], [2047, 2], MIXED):
        assert np.array_equal(run_partition(model, x, sizes), whole), sizes


def test_lstm_reset_restores_the_files_initial_state():
    model = load_model(a2_path("lstm"))
    x = guitar_like(0.1, 48000, seed=1)
    first = run_partition(model, x, [64])
    model.process(guitar_like(0.1, 48000, seed=2))
    assert np.array_equal(run_partition(model, x, [64]), first)


@pytest.mark.parametrize("name", ["fuzzface_a2", "lstm", "wavenet_condition_dsp"])
def test_processing_allocates_nothing(name):
    assert_allocates_nothing(load_model(a2_path(name)), guitar_like(0.3, 48000, seed=8)[:64 * 100])


def test_a2_writer_round_trip_is_exact():
    original = read_nam(a2_path("fuzzface_a2")).submodels[1][1]
    doc = to_document(original)
    again = parse_nam(json.loads(json.dumps(doc)))
    assert array_config(again.arrays[0]) == array_config(original.arrays[0]) and doc["config"]["layers"][0]["head"] == {
        "out_channels": 1, "kernel_size": 16, "bias": True}
    for p, q in zip(original.arrays[0].parameters(), again.arrays[0].parameters(), strict=True):
        assert np.array_equal(p, q)
    source = json.loads(a2_path("fuzzface_a2").read_text())["config"]["submodels"][1]["model"]["weights"]
    assert doc["weights"] == [float(np.float32(v)) for v in source]


def test_process_and_info_take_slim(tmp_path, capsys, guitar):
    clean = data_file("models", "nam", "golden", "input_guitar_6s.wav")
    out = tmp_path / "lite.wav"
    assert main(["process", "--model", str(a2_path("fuzzface_a2")), "--slim", "0.25", str(clean), str(out),
                 "--highpass", "0"]) == 0  # the bare model, as the golden was rendered
    assert np.max(np.abs(sf.read(out, dtype="float32")[0] - golden("fuzzface_a2.slim0.25"))) <= 5e-5
    assert main(["info", str(a2_path("fuzzface_a2"))]) == 0
    text = capsys.readouterr().out
    assert "submodel 1 (A2-Lite): NAM WaveNet, 3 channels, 23 layers, kernel 6/15, LeakyReLU, head kernel 16" in text
    assert "--slim 0..<0.5" in text and "--slim 0.5..1 (default)" in text and "receptive field 6347" in text


@pytest.mark.parametrize("slim, channels", [(None, 3), (0.0, 1), (0.33, 1), (0.34, 2), (0.66, 2), (0.67, 3), (1.0, 3)])
def test_slimmable_wavenet_sizes_are_cores(slim, channels):
    """n = allowed[min(floor(V * len), len - 1)] with allowed [1, 2, 3]."""
    model = load_model(a2_path("slimmable_wavenet"), slim=slim)
    assert model.description.endswith(f"NAM WaveNet, {channels} channels, 10 layers, kernel 3, ReLU") or (
        slim is None and "slimmable to 1,2,3 channels" in model.description)


def test_slimmable_wavenet_round_trips_with_its_allowed_channels():
    original = read_nam(a2_path("slimmable_wavenet"))
    doc = to_document(original)
    assert doc["config"]["layers"][0]["slimmable"] == {"method": "slice_channels_uniform",
                                                       "kwargs": {"allowed_channels": [1, 2, 3]}}
    assert parse_nam(doc).arrays[0].allowed_channels == [1, 2, 3]


def test_bad_allowed_channels_are_one_clear_line(tmp_path):
    doc = json.loads(a2_path("slimmable_wavenet").read_text())
    doc["config"]["layers"][0]["slimmable"]["kwargs"]["allowed_channels"] = [2, 1, 3]
    (tmp_path / "s.nam").write_text(json.dumps(doc))
    with pytest.raises(AmpemuError, match=r"allowed_channels \[2, 1, 3\] must be ascending"):
        load_model(tmp_path / "s.nam")


@pytest.mark.parametrize("hidden, layers", [(3, 1), (8, 2), (5, 3), (12, 1), (16, 1), (24, 2), (32, 1)])
def test_lstm_agrees_with_float64_reference(hidden, layers):
    """Stacked layers run layer-major over each block: check them against a per-sample reference,
    for one block of units, several (16 and up), and the wide blocks AVX-512 gets (12, 16, 32)."""
    from engine.models import nam_lstm_model
    from support.nam_reference import lstm_forward, random_lstm
    weights = random_lstm(hidden, layers, seed=hidden)
    x = guitar_like(0.1, 48000, seed=3)
    expected = lstm_forward(weights, x, prewarm=100)
    model = nam_lstm_model(weights)
    model.prewarm_samples = 100
    out = run_partition(model, x, MIXED)
    assert np.std(expected) > 1e-3 and np.max(np.abs(out - expected)) <= 2e-5
    assert np.array_equal(run_partition(model, x, [x.size]), out)


def test_condition_dsp_prewarm_and_round_trip():
    """Core prewarms the condition_dsp's receptive field plus the model's: 23 + 22 = 45 samples."""
    model = read_nam(a2_path("wavenet_condition_dsp"))
    assert model.condition_dsp.arrays[-1].head_size == 3 and model.receptive_field == 45
    assert load_model(a2_path("wavenet_condition_dsp")).prewarm_samples == 45
    again = parse_nam(json.loads(json.dumps(to_document(model))))
    for p, q in zip(model.condition_dsp.arrays[1].parameters(), again.condition_dsp.arrays[1].parameters(), strict=True):
        assert np.array_equal(p, q)
