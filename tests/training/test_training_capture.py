"""Capture loading and checks: every user mistake gives its one line; alignment and splits are exact."""

import re

import numpy as np
import pytest
import soundfile as sf

from support.audio import guitar_like
from engine.errors import AmpemuError
from training.capture import load_capture, split

RATE = 44100


def device(x):
    """A stand-in nonlinear device: soft clipping plus a one-pole low-pass."""
    from scipy import signal

    return signal.lfilter([0.3], [1, -0.7], np.tanh(4 * x)).astype(np.float32)


def write_pair(tmp_path, x, y, rate_in=RATE, rate_out=RATE):
    sf.write(tmp_path / "input.wav", x, rate_in, subtype="FLOAT")
    sf.write(tmp_path / "output.wav", y, rate_out, subtype="FLOAT")
    return tmp_path / "input.wav", tmp_path / "output.wav"


@pytest.fixture(scope="module")
def dry():
    return guitar_like(3.0, RATE)


def test_clean_pair_loads_aligned(tmp_path, dry, capsys):
    cap = load_capture(*write_pair(tmp_path, dry, device(dry)))
    assert cap.delay == 0 and cap.sample_rate == RATE
    np.testing.assert_array_equal(cap.input, dry)
    out = capsys.readouterr().out
    assert "latency: none: the device's response starts with the input (" in out and "nothing removed" in out


def test_rate_mismatch_is_an_error(tmp_path, dry):
    with pytest.raises(AmpemuError, match=r"output.wav: 48000 Hz but .*input.wav is 44100 Hz"):
        load_capture(*write_pair(tmp_path, dry, device(dry), RATE, 48000))


def test_lengths_far_apart_are_an_error(tmp_path, dry):
    y = np.concatenate([device(dry), np.zeros(int(1.5 * RATE), np.float32)])
    with pytest.raises(AmpemuError, match=r"more than 1 s apart\): not a matching capture pair"):
        load_capture(*write_pair(tmp_path, dry, y))


def test_small_length_difference_is_trimmed_with_a_warning(tmp_path, dry, capsys):
    y = np.concatenate([device(dry), np.zeros(100, np.float32)])
    cap = load_capture(*write_pair(tmp_path, dry, y))
    assert cap.input.size == cap.output.size == dry.size
    assert "100 samples longer than" in capsys.readouterr().err


def test_stereo_uses_first_channel_with_warning_and_channel_picks(tmp_path, dry, capsys):
    y = device(dry)
    stereo_in = np.stack([dry, 0.5 * dry], axis=1)
    stereo_out = np.stack([y, 0.5 * y], axis=1)
    paths = write_pair(tmp_path, stereo_in, stereo_out)
    cap = load_capture(*paths)
    np.testing.assert_array_equal(cap.input, dry)
    assert "2 channels, using the first (pick another with --channel)" in capsys.readouterr().err
    cap = load_capture(*paths, channel=1)
    np.testing.assert_array_equal(cap.input, 0.5 * dry)


@pytest.mark.parametrize("which", ["input", "output"])
def test_silent_file_is_an_error(tmp_path, dry, which):
    x, y = dry, device(dry)
    if which == "input":
        x = np.zeros_like(x)
    else:
        y = np.zeros_like(y)
    with pytest.raises(AmpemuError, match=rf"{which}.wav: the {which} is silent"):
        load_capture(*write_pair(tmp_path, x, y))


def test_clipped_output_warns_with_share(tmp_path, dry, capsys):
    y = device(dry)
    y[:441] = 1.0  # 441 of 132300 samples = 0.33 %
    load_capture(*write_pair(tmp_path, dry, y))
    assert "0.33 % of the samples are clipped at full scale" in capsys.readouterr().err


def test_latency_is_estimated_reported_and_compensated(tmp_path, dry, capsys):
    y = device(dry)
    delayed = np.concatenate([np.zeros(441, np.float32), y])[:y.size]  # 10 ms interface latency
    cap = load_capture(*write_pair(tmp_path, dry, delayed))
    # where the response starts, within a few samples early on these tonal plucks (tests/unit/test_delay.py
    # measures it on a DI-like signal); removed 2 short of it
    found = re.search(r"latency: output lags the input by (\d+) samples \(.* ms\): the device's response starts "
                      r"there \(\d+x over the fit's noise; the correlation peaks \d+ samples later\); removing (\d+), "
                      r"2 short of it to be safe", capsys.readouterr().out)
    lag, removed = int(found[1]), int(found[2])
    assert 436 <= lag <= 441 and removed == lag - 2 and cap.delay == removed
    np.testing.assert_array_equal(cap.output, delayed[removed:])
    np.testing.assert_array_equal(cap.input, dry[:dry.size - removed])


def test_a_capture_made_with_the_capture_signal_loses_its_whole_round_trip(tmp_path, capsys):
    """In a DAW, through a rig with a 441-sample round trip: the clicks give the pure delay exactly."""
    from engine.capture.signal import capture_signal

    x = capture_signal(20.0, RATE)
    delayed = np.concatenate([np.zeros(441, np.float32), device(x)])[:x.size]
    cap = load_capture(*write_pair(tmp_path, x, delayed))
    assert cap.delay == 441
    np.testing.assert_array_equal(cap.output, delayed[441:])
    assert "latency: the device answers 7 calibration clicks 441 samples (10.00 ms) after each: removing 441" \
        in capsys.readouterr().out


def test_delay_override(tmp_path, dry):
    y = device(dry)
    delayed = np.concatenate([np.zeros(441, np.float32), y])[:y.size]
    paths = write_pair(tmp_path, dry, delayed)
    assert load_capture(*paths, delay=0).delay == 0
    assert load_capture(*paths, delay=400).output.size == dry.size - 400
    with pytest.raises(AmpemuError, match=r"--delay 20000: must be 0..8820 samples"):
        load_capture(*paths, delay=20000)


def test_implausible_latency_is_refused(tmp_path, dry):
    y = device(dry)
    late = np.concatenate([np.zeros(int(0.3 * RATE), np.float32), y])[:y.size]
    with pytest.raises(AmpemuError, match=r"estimated latency 13230 samples \(300.0 ms\) is implausible"):
        load_capture(*write_pair(tmp_path, dry, late))


def test_output_leading_input_is_refused(tmp_path, dry):
    y = device(dry)
    early = np.concatenate([y[200:], np.zeros(200, np.float32)])
    with pytest.raises(AmpemuError, match=r"the output leads .* by 200 samples \(4.5 ms\).* are the files swapped"):
        load_capture(*write_pair(tmp_path, dry, early))


def test_swapped_files_are_refused(tmp_path, dry):
    with pytest.raises(AmpemuError, match=r"input.wav: the 'input' is more compressed than the 'output' .* "
                                          r"are the files swapped\?"):
        load_capture(*write_pair(tmp_path, device(dry), dry))


def test_split_is_80_10_10_in_time_with_history(tmp_path, dry):
    cap = load_capture(*write_pair(tmp_path, dry, device(dry)))
    history = 100
    parts = split(cap, history)
    n = dry.size
    assert parts["train"].target.size == round(0.8 * n) - history
    assert parts["validation"].target.size == round(0.9 * n) - round(0.8 * n)
    assert parts["test"].target.size == n - round(0.9 * n)
    for seg in parts.values():
        assert seg.input.size == seg.target.size + history
    # input[history + t] is the sample target[t] answers: the test split's first target is device(x)[start]
    start = round(0.9 * n)
    np.testing.assert_array_equal(parts["test"].input[history:], dry[start:])
    np.testing.assert_array_equal(parts["test"].input[:history], dry[start - history:start])
    np.testing.assert_array_equal(parts["test"].target, cap.output[start:])


def test_a_di_without_low_strings_gets_a_warning_and_one_with_them_none(tmp_path, capsys):
    t = np.arange(3 * RATE) / RATE
    high = (0.3 * np.sin(2 * np.pi * 196.0 * t) + 0.1 * np.sin(2 * np.pi * 392.0 * t)).astype(np.float32)
    load_capture(*write_pair(tmp_path, high, device(high)), delay=0)  # tones: no lag to find
    assert "input.wav: the input barely reaches the low strings (0.00 % of its power at 60-120 Hz)" \
        in capsys.readouterr().err
    low = (high + 0.1 * np.sin(2 * np.pi * 82.4 * t)).astype(np.float32)  # the low E: 10 % of the power
    load_capture(*write_pair(tmp_path, low, device(low)), delay=0)
    assert "low strings" not in capsys.readouterr().err


def test_band_share_reads_the_power_of_a_tone_in_its_band():
    from training.capture import band_share

    t = np.arange(2 * RATE) / RATE
    x = np.sin(2 * np.pi * 100.0 * t) + 3 * np.sin(2 * np.pi * 1000.0 * t)  # powers 1 : 9
    assert band_share(x, RATE, (60.0, 120.0)) == pytest.approx(0.1, abs=2e-3)
    assert band_share(x, RATE, (500.0, 2000.0)) == pytest.approx(0.9, abs=2e-3)
    assert band_share(np.zeros(RATE), RATE, (60.0, 120.0)) == 0.0
