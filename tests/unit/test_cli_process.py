"""`ampemu process`: renders exactly what the kernel renders, and every bad input is one line."""

import numpy as np
import pytest
import soundfile as sf

from support.data import data_file
from support.audio import guitar_like
from engine.chain.chain import attach
from engine.chain.settings import ChainSettings
from engine.cli import main
from engine.models import load_model
from engine.render import render

MODEL = ("models", "wavenetva", "SmartGuitarPedal_ts9_fullD.json")


@pytest.fixture
def clean(tmp_path):
    path = tmp_path / "in.wav"
    sf.write(path, guitar_like(0.5, 44100), 44100, subtype="FLOAT")
    return path


def test_process_writes_the_kernel_output(clean, tmp_path, capsys):
    out = tmp_path / "out.wav"
    assert main(["process", "--model", str(data_file(*MODEL)), str(clean), str(out), "--block", "37"]) == 0
    rendered, rate = sf.read(out, dtype="float32")
    assert rate == 44100 and sf.info(out).subtype == "FLOAT"
    # the default chain: no IR, no gate, flat tone, the 20 Hz high-pass
    expected = render(attach(load_model(data_file(*MODEL)), ChainSettings()), sf.read(clean, dtype="float32")[0])
    assert np.array_equal(rendered, expected)
    assert "real-time factor" in capsys.readouterr().out


def test_int_stereo_wav_uses_first_channel_with_warning(tmp_path, capsys):
    stereo = np.stack([guitar_like(0.3, 44100, 1), guitar_like(0.3, 44100, 2)], axis=1)
    sf.write(tmp_path / "st.wav", stereo, 44100, subtype="PCM_16")
    assert main(["process", "--model", str(data_file(*MODEL)), str(tmp_path / "st.wav"), str(tmp_path / "o.wav")]) == 0
    assert "2 channels, using the first" in capsys.readouterr().err
    left = sf.read(tmp_path / "st.wav", dtype="float32")[0][:, 0]
    assert np.array_equal(sf.read(tmp_path / "o.wav", dtype="float32")[0],
                          render(attach(load_model(data_file(*MODEL)), ChainSettings()), left, block=64))


def test_rate_mismatch_is_said_clearly(tmp_path, capsys):
    """Resampled by default (tests/unit/test_resample.py checks the output), unresampled on request."""
    sf.write(tmp_path / "48k.wav", guitar_like(0.2, 48000), 48000, subtype="FLOAT")
    argv = ["process", "--model", str(data_file(*MODEL)), str(tmp_path / "48k.wav"), str(tmp_path / "o.wav")]
    assert main(argv) == 0
    assert "model 44100 Hz on a 48000 Hz input: resampling" in capsys.readouterr().out
    assert main(argv + ["--ignore-rate"]) == 0
    assert "is 48000 Hz but" in capsys.readouterr().err


def _error_line(capsys, argv):
    assert main(argv) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


def test_refuses_to_overwrite_the_input(clean, capsys):
    before = clean.read_bytes()
    line = _error_line(capsys, ["process", "--model", str(data_file(*MODEL)), str(clean), str(clean)])
    assert "refusing to overwrite the input" in line
    assert clean.read_bytes() == before


@pytest.mark.parametrize("content, message", [
    (b"", "not a readable audio file"),
    (b"RIFF\x10\x00\x00\x00WAVEfmt garbage", "not a readable audio file"),
    (None, "no such file"),
], ids=["empty", "corrupt", "missing"])
def test_bad_input_wav(tmp_path, capsys, content, message):
    path = tmp_path / "bad.wav"
    if content is not None:
        path.write_bytes(content)
    line = _error_line(capsys, ["process", "--model", str(data_file(*MODEL)), str(path), str(tmp_path / "o.wav")])
    assert message in line and str(path) in line


def test_wav_without_samples(tmp_path, capsys):
    sf.write(tmp_path / "empty.wav", np.zeros(0, np.float32), 44100)
    line = _error_line(capsys, ["process", "--model", str(data_file(*MODEL)), str(tmp_path / "empty.wav"), str(tmp_path / "o.wav")])
    assert "holds no samples" in line


def test_bad_block_and_missing_output_folder(clean, tmp_path, capsys):
    model = str(data_file(*MODEL))
    assert "at least 1 sample" in _error_line(capsys, ["process", "--model", model, str(clean), str(tmp_path / "o.wav"), "--block", "0"])
    assert "does not exist" in _error_line(capsys, ["process", "--model", model, str(clean), str(tmp_path / "no" / "o.wav")])


def test_info_describes_a_model(capsys):
    assert main(["info", str(data_file(*MODEL))]) == 0
    out = capsys.readouterr().out
    assert "gated WaveNet, 5 channels, kernel 3, 10 layers" in out and "44100 Hz" in out
