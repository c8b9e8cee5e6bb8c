"""The onnxruntime backend refuses every bad or foreign .onnx (and a missing onnxruntime) in one line."""

import sys

import onnx
import pytest
import soundfile as sf
import torch
from onnx import TensorProto, helper

from support.audio import guitar_like
from engine.cli import main
from training.model import build_network
from training.onnx_export import network_properties, onnx_bytes

RATE = 44100


@pytest.fixture(scope="module")
def good_bytes():
    torch.manual_seed(0)
    net = build_network("gated_wavenet", {"channels": 2, "kernel_size": 3, "dilations": [1, 2]}).eval()
    return onnx_bytes(net, network_properties(net, "gated_wavenet", {}, RATE, "good", {}))


@pytest.fixture
def wav(tmp_path):
    sf.write(tmp_path / "in.wav", guitar_like(0.05, RATE), RATE, subtype="FLOAT")
    return tmp_path / "in.wav"


def foreign_model() -> bytes:
    """A valid ONNX graph from somewhere else: y = x + x."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n"])
    graph = helper.make_graph([helper.make_node("Add", ["x", "x"], ["y"])], "double", [x], [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def with_props(data: bytes, **changes) -> bytes:
    model = onnx.load_from_string(data)
    props = {p.key: p.value for p in model.metadata_props}
    props.update(changes)
    onnx.helper.set_model_props(model, props)
    return model.SerializeToString()


BAD = {
    "empty": lambda good: b"",
    "random bytes": lambda good: bytes(range(256)) * 8,
    "truncated": lambda good: good[: len(good) // 2],
    "foreign graph": lambda good: foreign_model(),
    "future version": lambda good: with_props(good, format_version="99"),
    "damaged metadata": lambda good: with_props(good, state_shapes="[[1, 2"),
    "shapes disagree": lambda good: with_props(good, state_shapes="[[1, 2, 2], [1, 2, 5]]"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_onnx_is_one_line(case, good_bytes, wav, tmp_path, capsys):
    model = tmp_path / "bad.onnx"
    model.write_bytes(BAD[case](good_bytes))
    assert main(["process", "--model", str(model), str(wav), str(tmp_path / "out.wav")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(model) in err and "error:" in err, err
    assert not (tmp_path / "out.wav").exists()


def test_good_model_passes_the_same_path(good_bytes, wav, tmp_path):
    (tmp_path / "good.onnx").write_bytes(good_bytes)
    assert main(["process", "--model", str(tmp_path / "good.onnx"), str(wav), str(tmp_path / "out.wav")]) == 0


def test_missing_file_and_wrong_extension(wav, tmp_path, capsys):
    assert main(["process", "--model", str(tmp_path / "none.onnx"), str(wav), str(tmp_path / "o.wav")]) == 2
    assert "no such model file" in capsys.readouterr().err
    (tmp_path / "m.json").write_text("{}")
    assert main(["process", "--backend", "onnxruntime", "--model", str(tmp_path / "m.json"), str(wav),
                 str(tmp_path / "o.wav")]) == 2
    assert "plays .onnx files" in capsys.readouterr().err


def test_missing_onnxruntime_is_one_line(good_bytes, wav, tmp_path, capsys, monkeypatch):
    (tmp_path / "good.onnx").write_bytes(good_bytes)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as on a Pi without it
    assert main(["process", "--model", str(tmp_path / "good.onnx"), str(wav), str(tmp_path / "o.wav")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "pip install onnxruntime" in err
