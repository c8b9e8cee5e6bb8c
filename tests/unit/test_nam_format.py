"""The .nam format module: NAM's own files load, the writer round-trips, everything else is one clear line."""

import json

import numpy as np
import pytest

from support.data import data_file
from engine.errors import AmpemuError
from engine.formats.nam import array_config, read_nam, to_document, write_nam
from engine.models import load_model
from support.nam_reference import random_nam
STANDARD = ("models", "nam", "wavenet_a1_standard.nam")
FEATHER = ("models", "nam", "random_feather.nam")


def assert_same_model(a, b):
    assert np.float32(a.head_scale) == np.float32(b.head_scale)  # stored as a float32 weight
    assert (a.sample_rate, a.metadata) == (b.sample_rate, b.metadata)
    assert len(a.arrays) == len(b.arrays)
    for x, y in zip(a.arrays, b.arrays):
        assert array_config(x) == array_config(y)
        assert x.activations == y.activations
        for p, q in zip(x.parameters(), y.parameters(), strict=True):
            assert p.shape == q.shape and np.array_equal(p, q)


@pytest.mark.parametrize("name, channels, rate", [
    ("wavenet_a1_standard", (16, 8), 48000),  # no sample_rate key: NAM's default
    ("random_lite", (12, 6), 48000), ("random_feather", (8, 4), 48000), ("random_nano", (4, 2), 48000)])
def test_nams_own_files_load(name, channels, rate):
    model = read_nam(data_file("models", "nam", f"{name}.nam"))
    assert tuple(a.channels for a in model.arrays) == channels
    assert model.sample_rate == rate and model.receptive_field == 4093
    assert model.head_scale == np.float32(0.02)
    assert model.arrays[1].head_bias and not model.arrays[0].head_bias


def test_metadata_is_available_to_the_host():
    model = load_model(data_file(*FEATHER))
    assert model.metadata == {"name": "random-feather", "loudness": -20.0}
    assert model.sample_rate == 48000 and model.prewarm_samples == model.receptive_field == 4093
    assert "NAM WaveNet, 8/4 channels, 20 layers" in model.description


def test_round_trip_of_a_real_file_is_exact(tmp_path):
    original = read_nam(data_file(*STANDARD))
    again = read_nam(write_nam(original, tmp_path / "copy.nam"))
    assert_same_model(original, again)
    doc = json.loads((tmp_path / "copy.nam").read_text())
    assert doc["version"] == "0.5.0" and doc["architecture"] == "WaveNet" and doc["config"]["head"] is None
    # the weights list is NAM's own, value for value
    assert doc["weights"] == [float(np.float32(v)) for v in json.loads(data_file(*STANDARD).read_text())["weights"]]
    write_nam(again, tmp_path / "copy2.nam")
    assert (tmp_path / "copy.nam").read_bytes() == (tmp_path / "copy2.nam").read_bytes()


def test_lstm_round_trip_is_exact(tmp_path):
    """Core's example LSTM and a 3-layer one (the benchmark writes such files for Core to play)."""
    from support.nam_reference import random_lstm
    for original in (read_nam(data_file("models", "nam-a2", "lstm.nam")), random_lstm(5, 3, seed=1)):
        again = read_nam(write_nam(original, tmp_path / "lstm.nam"))
        assert again.num_layers == original.num_layers and again.hidden_size == original.hidden_size
        for got, want in zip((*again.w, *again.b, *again.h0, *again.c0, again.head_weight),
                             (*original.w, *original.b, *original.h0, *original.c0, original.head_weight)):
            assert np.array_equal(got, want)
        assert again.head_bias == np.float32(original.head_bias)
    doc = json.loads(data_file("models", "nam-a2", "lstm.nam").read_text())
    write_nam(read_nam(data_file("models", "nam-a2", "lstm.nam")), tmp_path / "core.nam")
    assert json.loads((tmp_path / "core.nam").read_text())["weights"] == [float(np.float32(v)) for v in doc["weights"]]


def test_training_style_export_round_trips(tmp_path):
    """What training will hand the writer: any shape, gated, every activation, LeakyReLU's slope."""
    model = random_nam([
        dict(channels=5, head_size=3, kernel_size=2, dilations=[1, 4], activation="LeakyReLU", negative_slope=0.2),
        dict(channels=3, head_size=2, kernel_size=4, dilations=[2], activation="SiLU", gated=True, head_bias=True),
        dict(channels=2, head_size=1, kernel_size=3, dilations=[1, 3], activation="Hardswish", head_bias=True)])
    model.metadata = {"name": "export", "loudness": -18.5, "training": {"validation_esr": 0.01}}
    model.sample_rate = 44100
    again = read_nam(write_nam(model, tmp_path / "m.nam"))
    assert_same_model(model, again)
    assert again.version == "0.5.4"
    doc = json.loads((tmp_path / "m.nam").read_text())
    assert doc["config"]["layers"][0]["activation"] == {"type": "LeakyReLU", "negative_slope": 0.2}
    assert doc["config"]["layers"][1]["activation"] == "SiLU" and doc["weights"][-1] == np.float32(0.02)


def test_writer_refuses_nan_and_leaves_the_old_file(tmp_path):
    model = read_nam(data_file(*FEATHER))
    target = tmp_path / "keep.nam"
    target.write_text("precious")
    model.arrays[1].conv_weights[3][0, 0, 1] = np.nan
    with pytest.raises(AmpemuError, match="NaN or Infinity"):
        write_nam(model, target)
    assert target.read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.nam"]  # no temp file left behind


def test_writer_refuses_shapes_that_do_not_match_the_config():
    model = read_nam(data_file(*FEATHER))
    model.arrays[0].residual_biases[0] = np.zeros(3, np.float32)
    with pytest.raises(AmpemuError, match="layer array 0: weight shapes do not match"):
        to_document(model)


NEUTRAL_KEYS = {"gating_mode": "none", "bottleneck": 8, "groups_input": 1, "groups_input_mixin": 1,
                "layer1x1": {"active": True, "groups": 1}, "head1x1": {"active": False, "out_channels": 8},
                "conv_pre_film": {"active": False, "shift": True}, "layer1x1_post_film": {"active": False}}


def test_newer_exporters_neutral_keys_are_accepted(tmp_path):
    """A 0.6/0.7 exporter may spell out A1 defaults; with those values the maths is A1's."""
    doc = json.loads(data_file(*FEATHER).read_text())
    doc["version"] = "0.7.0"
    doc["config"]["layers"][0].update(NEUTRAL_KEYS)
    (tmp_path / "new.nam").write_text(json.dumps(doc))
    assert_same_model(read_nam(data_file(*FEATHER)), read_nam(tmp_path / "new.nam"))


@pytest.mark.parametrize("key, value, feature", [
    ("gating_mode", "blended", "blended gating"), ("groups_input", 2, "grouped convs"),
    ("groups_input_mixin", 3, "grouped convs"), ("layer1x1", {"active": True, "groups": 2}, "grouped convs"),
    ("conv_pre_film", {"active": True}, "FiLM"), ("head1x1_post_film", {"active": True, "shift": False}, "FiLM"),
    ("slimmable", {"method": "slice_channels_random"}, "a slimmable method other than slice_channels_uniform")])
def test_unimplemented_features_are_refused_by_name(tmp_path, key, value, feature):
    doc = json.loads(data_file(*FEATHER).read_text())
    doc["config"]["layers"][0][key] = value
    (tmp_path / "x.nam").write_text(json.dumps(doc))
    with pytest.raises(AmpemuError, match=f"layer array 0: {feature} \\(config key '{key}'.* is not supported"):
        read_nam(tmp_path / "x.nam")


def test_a_gate_other_than_sigmoid_is_refused_by_name(tmp_path):
    doc = json.loads(data_file(*FEATHER).read_text())
    doc["config"]["layers"][0].update(gating_mode="gated", secondary_activation="Tanh")
    (tmp_path / "x.nam").write_text(json.dumps(doc))
    with pytest.raises(AmpemuError, match="a gate activation other than Sigmoid"):
        read_nam(tmp_path / "x.nam")


def _edit(doc, change):
    change(doc)
    return doc


def _layer(doc, key, value, array=0):
    doc["config"]["layers"][array][key] = value


BAD_DOCS = {
    "wrong weight count": (lambda d: d["weights"].pop(), "has 3025 weights but its config needs 3026"),
    "extra weight": (lambda d: d["weights"].append(0.5), "has 3027 weights but its config needs 3026"),
    "string weight": (lambda d: d["weights"].__setitem__(7, "x"), "weight 7 is not a number ('x')"),
    "version 0.8": (lambda d: d.update(version="0.8.0"), "NAM file version 0.8.0 is not supported"),
    "version 0.4": (lambda d: d.update(version="0.4.1"), "NAM file version 0.4.1 is not supported"),
    "bad version": (lambda d: d.update(version=5), "'version' 5 is not a NAM file version"),
    "SlimmableWaveNet": (lambda d: d.update(architecture="SlimmableWaveNet"),
                         "architecture 'SlimmableWaveNet' is not supported; supported: NAM WaveNet"),
    "ConvNet": (lambda d: d.update(architecture="ConvNet"), "architecture 'ConvNet' is not supported"),
    "Linear": (lambda d: d.update(architecture="Linear"), "architecture 'Linear' is not supported"),
    "unknown activation": (lambda d: _layer(d, "activation", "Softsign"),
                           "layer array 0 activation 'Softsign' is not supported; supported: Tanh, Hardtanh, ReLU"),
    "Fasttanh": (lambda d: _layer(d, "activation", "Fasttanh", 1), "layer array 1 activation 'Fasttanh' is not supported"),
    "activation parameter": (lambda d: _layer(d, "activation", {"type": "PReLU", "num_parameters": 2}),
                             "activation parameter 'num_parameters' is not supported"),
    "kernel_size and kernel_sizes": (lambda d: _layer(d, "kernel_sizes", [3] * 7),
                                     "layer array 0 needs exactly one of 'kernel_size' and 'kernel_sizes'"),
    "kernel_sizes length": (lambda d: d["config"]["layers"][0].pop("kernel_size") and _layer(d, "kernel_sizes", [3] * 6),
                            "layer array 0 'kernel_sizes' has 6 entries for 7 layers"),
    "unknown key": (lambda d: _layer(d, "dropout", 0.1), "config key 'dropout' (0.1) is not a NAM WaveNet key"),
    "FiLM": (lambda d: _layer(d, "conv_pre_film", {"active": True}), "FiLM (config key 'conv_pre_film'"),
    "bottleneck": (lambda d: _layer(d, "bottleneck", 4), "has 3026 weights but its config needs 2058"),
    "condition_dsp": (lambda d: d["config"].update(condition_dsp={"architecture": "LSTM"}),
                      "a condition_dsp other than a WaveNet (config key 'condition_dsp'"),
    "condition_size": (lambda d: _layer(d, "condition_size", 2), "layer array 0 condition_size 2 must be 1 (the mono input)"),
    "post-stack head": (lambda d: d["config"].update(head={"num_layers": 1}),
                        "a post-stack head (config key 'head': {\"num_layers\": 1}) is not supported"),
    "missing weights": (lambda d: d.pop("weights"), "missing key 'weights': not a .nam model file"),
    "missing dilations": (lambda d: d["config"]["layers"][0].pop("dilations"), "layer array 0 lacks 'dilations'"),
    "zero dilation": (lambda d: _layer(d, "dilations", [1, 0]), "layer array 0 dilation must be an integer in 1..65536, got 0"),
    "gated not bool": (lambda d: _layer(d, "gated", "no"), "layer array 0 'gated' must be true or false, got 'no'"),
    "broken chain": (lambda d: _layer(d, "channels", 5, 1), "layer array 1 channels 5 must equal the previous array's head_size 4"),
    "stereo output": (lambda d: _layer(d, "head_size", 2, 1), "the last layer array's head_size is 2; a mono model needs 1"),
    "bad rate": (lambda d: d.update(sample_rate=100), "'sample_rate' 100 is not a rate"),
    "bad metadata": (lambda d: d.update(metadata=[1]), "'metadata' must be a JSON object or null"),
    "not an object": (lambda d: d.clear() or d.update(version="0.5.4", architecture="WaveNet", config=[], weights=[]),
                      "'config' must be a JSON object"),
}


@pytest.mark.parametrize("case", BAD_DOCS)
def test_malformed_documents_are_one_clear_line(case, tmp_path):
    change, message = BAD_DOCS[case]
    doc = _edit(json.loads(data_file(*FEATHER).read_text()), change)
    path = tmp_path / "bad.nam"
    path.write_text(json.dumps(doc))
    with pytest.raises(AmpemuError) as info:
        load_model(path)
    text = str(info.value)
    assert message in text and str(path) in text and "\n" not in text


def test_nan_weight_in_the_file(tmp_path):
    text = data_file(*FEATHER).read_text()
    doc = json.loads(text)
    doc["weights"][100] = float("nan")
    (tmp_path / "nan.nam").write_text(json.dumps(doc))  # json writes the NaN literal, as a diverged export would
    with pytest.raises(AmpemuError, match=r"weight 100 is nan \(NaN or Infinity\): the training diverged"):
        load_model(tmp_path / "nan.nam")


@pytest.mark.parametrize("content, message", [
    (None, "no such model file"),
    ("", "invalid or truncated JSON at line 1 column 1"),
    ("[1, 2]", "not a .nam model (top level is not a JSON object)"),
])
def test_unreadable_files(tmp_path, content, message):
    path = tmp_path / "x.nam"
    if content is not None:
        path.write_text(content)
    with pytest.raises(AmpemuError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_model(path)


def test_truncated_file(tmp_path):
    text = data_file(*FEATHER).read_text()
    (tmp_path / "cut.nam").write_text(text[: len(text) // 2])
    with pytest.raises(AmpemuError, match="invalid or truncated JSON at line 1 column"):
        load_model(tmp_path / "cut.nam")


@pytest.mark.parametrize("name, feature", [
    ("wavenet_a2_max.nam", "layer array 0: grouped convs (config key 'groups_input_mixin'"),
])
def test_unimplemented_nam_features_are_refused_in_one_line(name, feature):
    path = data_file("models", "nam-a2", name)
    with pytest.raises(AmpemuError) as info:
        load_model(path)
    text = str(info.value)
    assert feature in text and "is not supported; supported: NAM WaveNet (A1 and A2 layer arrays)" in text
    assert str(path) in text and "\n" not in text
