"""`ampemu process` and `ampemu info` take `.nam` files exactly as they take `.json`."""

import numpy as np
import soundfile as sf

from support.data import data_file
from engine.cli import main
from engine.models import load_model
from engine.render import render

MODEL = ("models", "nam", "random_feather.nam")


def test_process_renders_a_nam_like_core(tmp_path, capsys):
    clean = data_file("models", "nam", "golden", "input_guitar_6s.wav")
    out = tmp_path / "out.wav"
    # --highpass 0: the bare model, as NeuralAmpModelerCore renders it (no signal chain)
    assert main(["process", "--model", str(data_file(*MODEL)), str(clean), str(out), "--block", "100",
                 "--highpass", "0"]) == 0
    rendered, rate = sf.read(out, dtype="float32")
    assert rate == 48000 and rendered.size == sf.info(clean).frames
    audio = sf.read(clean, dtype="float32")[0]
    assert np.array_equal(rendered, render(load_model(data_file(*MODEL)), audio, block=64))
    core = sf.read(data_file("models", "nam", "golden", "random_feather.out.wav"), dtype="float32")[0]
    assert np.max(np.abs(rendered - core)) <= 5e-5
    assert "real-time factor" in capsys.readouterr().out


def test_process_refuses_an_unsupported_nam_in_one_line(tmp_path, capsys):
    clean = data_file("models", "nam", "golden", "input_guitar_6s.wav")
    model = data_file("models", "nam-a2", "wavenet_a2_max.nam")
    assert main(["process", "--model", str(model), str(clean), str(tmp_path / "o.wav")]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and "grouped convs" in lines[0] and "is not supported" in lines[0] and str(model) in lines[0]
    assert not (tmp_path / "o.wav").exists()


def test_info_describes_a_nam(capsys):
    assert main(["info", str(data_file(*MODEL))]) == 0
    out = capsys.readouterr().out
    assert "NAM WaveNet, 8/4 channels, 20 layers, kernel 3, Tanh" in out and "48000 Hz" in out
    assert "random-feather" in out  # the metadata
