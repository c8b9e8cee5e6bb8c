"""`ampemu capture` on a private dummy jackd with a simulated rig: calibrate through a pure delay, take a
capture through a delayed nonlinearity, and check output.wav is that nonlinearity of input.wav, sample for
sample; a dropout or an xrun during the take is named and the take refused.

The simulated rig and freewheel mode are in tests/support/capture_rig.py; the xrun test runs in real time.
"""

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from engine.capture.signal import capture_signal, layout
from engine.cli import main
from support.capture_rig import PERIOD, RATE, Rig, device, esr, freewheeling_recorder, serve, user_config

SECONDS = "3"


@pytest.fixture(scope="module")
def jack_server():
    yield from serve()


@pytest.fixture
def config(tmp_path, monkeypatch):
    return user_config(tmp_path, monkeypatch)


def capture(*args):
    return main(["capture", "--send", "rig:in", "--return", "rig:out", *args])


@pytest.fixture
def freewheeling():
    """Run `ampemu capture ...` in freewheel mode."""
    def run(*args):
        with freewheeling_recorder():
            return capture(*args)
    return run


def calibrate(delay, freewheeling, capsys):
    with Rig(delay):
        assert freewheeling("--calibrate") == 0, capsys.readouterr().err
    return capsys.readouterr().out


@pytest.mark.parametrize("delay", [0, 37, 480])
def test_capture_through_a_delayed_nonlinearity_is_sample_aligned(jack_server, config, tmp_path, capsys, delay,
                                                                  freewheeling):
    printed = calibrate(delay, freewheeling, capsys)
    # a JACK graph loop closes one cycle late: the rig's round trip is its delay plus a period
    round_trip = delay + PERIOD
    assert f"round trip rig:in -> rig:out: {round_trip} frames" in printed and "loop gain +0.00 dB" in printed
    rig = json.loads(config.read_text())["rigs"][0]
    assert (rig["latency"], rig["sample_rate"], rig["period"]) == (round_trip, RATE, PERIOD)

    out = tmp_path / "take"
    with Rig(delay, shape=device):
        assert freewheeling("--out", str(out), "--seconds", SECONDS) == 0, capsys.readouterr().err
    x, rate_x = sf.read(str(out / "input.wav"), dtype="float32")
    y, rate_y = sf.read(str(out / "output.wav"), dtype="float32")
    assert rate_x == rate_y == RATE and x.size == y.size == int(float(SECONDS) * RATE)
    assert esr(y, device(x)) < 1e-4
    doc = json.loads((out / "capture.json").read_text())
    assert doc["rig"]["latency_frames"] == round_trip and doc["sample_rate"] == RATE
    assert doc["click_lags"] == [0] * len(doc["signal"]["click_frames"]) and doc["xruns"] == 0
    assert doc["levels"]["send_peak_dbfs"] == pytest.approx(-6.0, abs=0.01)


def test_a_dropout_during_the_take_is_named_and_the_take_refused(jack_server, config, tmp_path, capsys, freewheeling):
    calibrate(37, freewheeling, capsys)
    out = tmp_path / "take"
    x = capture_signal(float(SECONDS), RATE)
    chords = next(s for s in layout(float(SECONDS), RATE)[0] if s.name == "chords")
    loudest = chords.start + int(np.argmax(np.abs(x[chords.start:chords.start + chords.length])))
    with Rig(37, shape=device, drop_after=loudest - int(np.flatnonzero(x)[0])):
        assert freewheeling("--out", str(out), "--seconds", SECONDS) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "take refused, nothing written" in err[0] and "the return dropped out" in err[0]
    assert not any(out.iterdir())


def test_an_xrun_during_the_take_is_named_and_the_take_refused(jack_server, config, tmp_path, capsys, freewheeling):
    calibrate(0, freewheeling, capsys)
    out = tmp_path / "take"
    with Rig(0, shape=device, stall_after=int(1.0 * RATE)):  # real time: the stall makes the server late
        assert capture("--out", str(out), "--seconds", SECONDS) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "take refused" in err[0] and ("xrun" in err[0] or "skipped" in err[0])
    assert not any(out.iterdir())


def test_no_calibration_says_how_to_make_one(jack_server, config, tmp_path, capsys):
    with Rig(0):
        assert capture("--out", str(tmp_path / "take"), "--seconds", SECONDS) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no calibration for rig:in -> rig:out at 48000 Hz, period 64" in err[0]
    assert "ampemu capture --calibrate --send rig:in --return rig:out" in err[0]


def test_nothing_connected_to_the_return_fails_calibration_in_one_line(jack_server, config, capsys):
    assert main(["capture", "--calibrate", "--send", "system:playback_1", "--return", "system:capture_1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nothing came back on system:capture_1" in err[0]


ALLOCATION_PROBE = """
import numpy as np
from numba import njit
from numba.core.runtime import rtsys
from engine.capture.recorder import DuplexRecorder

@njit
def allocates(n):
    return np.zeros(n).sum()

marks = []  # (frames recorded, numba's allocation counters), ten times a second during the take
with DuplexRecorder() as recorder:
    frames = int(1.5 * recorder.sample_rate)
    recorder.take(np.ones(frames, np.float32), frames, "system:playback_1", "system:capture_1",
                  lambda done, recorded: marks.append((done, rtsys.get_allocation_stats())))
first = next(mark for mark in marks if mark[0] > 0)  # the callback runs from here on
last = marks[-1]
allocates(10)  # proves the counters see an allocation when there is one
control = rtsys.get_allocation_stats()
print(last[1].alloc - first[1].alloc, last[1].mi_alloc - first[1].mi_alloc, last[0] - first[0],
      control.alloc - last[1].alloc)
"""


def test_the_capture_callback_allocates_nothing(jack_server):
    """numba's runtime counts every allocation compiled code makes (NUMBA_NRT_STATS=1)."""
    env = dict(jack_server.env, NUMBA_NRT_STATS="1")
    result = subprocess.run([sys.executable, "-c", ALLOCATION_PROBE], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    allocations, meminfos, frames, control = map(int, result.stdout.split())
    assert frames > RATE  # over a second of callbacks in the window
    assert control >= 1
    assert allocations == 0 and meminfos == 0
