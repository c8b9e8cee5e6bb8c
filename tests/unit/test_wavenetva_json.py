"""The .json format module: round trips, and one clear line for every malformed file."""

import json

import numpy as np
import pytest

from support.data import data_file
from engine.errors import AmpemuError
from engine.formats.wavenetva_json import read_model, to_document, write_model
from engine.models import load_model

PEDALNET = ("models", "wavenetva", "PedalNetRT_pedalnet.json")  # data as JSON strings
WAVENETVA = ("models", "wavenetva", "WaveNetVA_WaveNet2-ts7.json")  # data as JSON numbers


def assert_same_weights(a, b):
    assert (a.channels, a.kernel_size, a.dilations) == (b.channels, b.kernel_size, b.dilations)
    for name in ("input_weight", "input_bias", "mix_weight"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.mix_bias == b.mix_bias
    for name in ("conv_weights", "conv_biases", "residual_weights", "residual_biases"):
        for x, y in zip(getattr(a, name), getattr(b, name)):
            assert np.array_equal(x, y), name


@pytest.mark.parametrize("parts", [PEDALNET, WAVENETVA])
def test_write_read_round_trip_is_exact(parts, tmp_path):
    original = read_model(data_file(*parts))
    original.metadata = {"name": "round trip"}
    written = write_model(original, tmp_path / "copy.json")
    again = read_model(written)
    assert_same_weights(original, again)
    assert again.metadata == {"name": "round trip"} and again.sample_rate == 44100
    # and a second generation is byte-identical
    write_model(again, tmp_path / "copy2.json")
    assert (tmp_path / "copy.json").read_text() == (tmp_path / "copy2.json").read_text()


def test_string_and_number_data_read_alike(tmp_path):
    doc = json.loads(data_file(*WAVENETVA).read_text())
    for var in doc["variables"]:
        var["data"] = [repr(float(v)) for v in var["data"]]
    (tmp_path / "s.json").write_text(json.dumps(doc))
    assert_same_weights(read_model(data_file(*WAVENETVA)), read_model(tmp_path / "s.json"))


def test_variables_in_any_order(tmp_path):
    doc = json.loads(data_file(*WAVENETVA).read_text())
    doc["variables"].reverse()
    (tmp_path / "r.json").write_text(json.dumps(doc))
    assert_same_weights(read_model(data_file(*WAVENETVA)), read_model(tmp_path / "r.json"))


def test_sample_rate_level_and_metadata_are_read(tmp_path):
    doc = json.loads(data_file(*WAVENETVA).read_text())
    doc.update(sample_rate=48000, level_adjust=-3.5, metadata={"gear": "ts9"})
    (tmp_path / "m.json").write_text(json.dumps(doc))
    model = load_model(tmp_path / "m.json")
    assert (model.sample_rate, model.output_gain_db, model.metadata) == (48000, -3.5, {"gear": "ts9"})


def test_writing_refuses_nan(tmp_path):
    model = read_model(data_file(*WAVENETVA))
    model.conv_biases[3][0] = np.nan
    with pytest.raises(AmpemuError, match="NaN or Infinity"):
        write_model(model, tmp_path / "nan.json")
    assert not (tmp_path / "nan.json").exists()


BROKEN_TEXTS = [
    ("truncated", lambda text: text[: len(text) // 2], "invalid or truncated JSON"),
    ("not-json", lambda text: "hello", "invalid or truncated JSON"),
    ("top-level-list", lambda text: "[1, 2]", "top level is not a JSON object"),
]


def _mutations():
    """(id, mutate(doc) in place, expected message fragment)."""
    def var(doc, layer, name):
        return next(v for v in doc["variables"] if v["layer_idx"] == layer and v["name"] == name)

    def set_var(layer, name, **kw):
        def mutate(doc):
            var(doc, layer, name).update(kw)
        return mutate

    def drop_var(layer, name):
        def mutate(doc):
            doc["variables"].remove(var(doc, layer, name))
        return mutate

    def put(key, value):
        def mutate(doc):
            doc[key] = value
        return mutate

    def nan_in(layer, name, value):
        def mutate(doc):
            var(doc, layer, name)["data"][2] = value
        return mutate

    return [
        ("missing-dilations", lambda doc: doc.pop("dilations"), "missing key 'dilations'"),
        ("unknown-activation", put("activation", "relu"), "unknown activation 'relu'"),
        ("empty-dilations", put("dilations", []), "non-empty list"),
        ("zero-dilation", put("dilations", [1, 0] + [4] * 16), "dilation 0"),
        ("absurd-dilation", put("dilations", [1 << 20] * 18), "dilation 1048576"),
        ("negative-channels", put("residual_channels", -8), "'residual_channels' must be an integer"),
        ("knob-conditioned", put("input_channels", 2), "knob-conditioned"),
        ("missing-variable", drop_var(5, "W_out"), "missing variable W_out of layer 5"),
        ("wrong-size", set_var(2, "b_conv", data=[0.0] * 3), "b_conv of layer 2 has 3 values, expected 16"),
        ("nan-number", nan_in(0, "W_conv", float("nan")), "NaN or Infinity"),
        ("nan-string", nan_in(1, "W_conv", "NaN"), "NaN or Infinity"),
        ("infinity-string", nan_in(1, "b_out", "-Infinity"), "NaN or Infinity"),
        ("non-numeric", nan_in(0, "W_conv", "abc"), "is not a number ('abc')"),
        ("null-item", nan_in(0, "W_conv", None), "is not a number (None)"),
        ("unknown-layer", lambda doc: doc["variables"].append({"layer_idx": 40, "name": "W", "data": [1.0]}),
         "unexpected variable W of layer 40"),
        ("duplicate", lambda doc: doc["variables"].append(dict(var(doc, 0, "b_out"))), "appears twice"),
        ("bad-sample-rate", put("sample_rate", 12), "'sample_rate' 12"),
        ("bad-metadata", put("metadata", [1]), "'metadata' must be a JSON object"),
    ]


def assert_one_clear_line(path, message):
    with pytest.raises(AmpemuError) as info:
        load_model(path)
    line = str(info.value)
    assert message in line
    assert str(path) in line and "\n" not in line


@pytest.mark.parametrize("case_id, mutate, message", _mutations(), ids=[m[0] for m in _mutations()])
def test_malformed_model_gives_one_clear_line(case_id, mutate, message, tmp_path):
    doc = json.loads(data_file(*WAVENETVA).read_text())
    mutate(doc)
    path = tmp_path / f"{case_id}.json"
    path.write_text(json.dumps(doc))
    assert_one_clear_line(path, message)


@pytest.mark.parametrize("case_id, damage, message", BROKEN_TEXTS, ids=[b[0] for b in BROKEN_TEXTS])
def test_broken_json_gives_one_clear_line(case_id, damage, message, tmp_path):
    path = tmp_path / f"{case_id}.json"
    path.write_text(damage(data_file(*WAVENETVA).read_text()))
    assert_one_clear_line(path, message)


def test_missing_and_unknown_files(tmp_path):
    with pytest.raises(AmpemuError, match="no such model file"):
        load_model(tmp_path / "absent.json")
    (tmp_path / "model.h5").write_text("x")
    with pytest.raises(AmpemuError, match="unknown model format '.h5'"):
        load_model(tmp_path / "model.h5")


def test_document_is_plain_json():
    doc = to_document(read_model(data_file(*PEDALNET)))
    text = json.dumps(doc, allow_nan=False)
    assert json.loads(text)["residual_channels"] == 16
