"""What `ampemu run` does when JACK is missing, goes away, runs at another rate than the model or lacks a port.

Each case runs the real console command in a child process, as a user or systemd would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from support.audio import guitar_like
from support.data import REPO
from support.jack import RATE, Rig, ServerEnv, ampemu, seed_model_path, start_server
def one_line_error(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ampemu run: error: ")
    return lines[0]


@pytest.fixture(scope="module")
def server():
    srv = start_server(RATE, period=128)
    yield srv
    srv.stop()


def test_no_server_is_one_line_and_nonzero():
    env = dict(os.environ, JACK_DEFAULT_SERVER=f"ampemu-absent-{os.getpid()}", JACK_NO_START_SERVER="1")
    result = ampemu("run", "--model", seed_model_path(), env=env)
    assert result.returncode == 2
    assert "cannot connect to a JACK server" in one_line_error(result)


def test_missing_port_lists_existing_ports(server):
    result = ampemu("run", "--model", seed_model_path(), "--out", "system:playback_9", env=server.env)
    assert result.returncode == 2
    line = one_line_error(result)
    assert "'system:playback_9' does not exist" in line
    assert "system:playback_1, system:playback_2" in line


def test_a_model_at_another_rate_plays_resampled_as_offline_and_ignore_rate_plays_it_raw():
    """JACK at 48 kHz, a 44.1 kHz seed model: `run` says it resamples (one line: latency, CPU) and plays;
    --ignore-rate plays it unresampled with a warning; a freewheel recording of the resampled slot
    equals the offline render through the same resampler, bit for bit."""
    from engine.chain.resampler import play_at
    from engine.models import load_model
    from engine.realtime import channel as ch
    from engine.realtime.jack_host import JackHost
    from engine.render import render

    srv = start_server(48000, period=128)
    try:
        played = ampemu("run", "--model", seed_model_path(), "--duration", "0.5", env=srv.env)
        assert played.returncode == 0, played.stderr
        assert "ampemu run: model 44100 Hz on a 48000 Hz server: resampling, +56 samples latency, ~" in played.stdout
        forced = ampemu("run", "--model", seed_model_path(), "--duration", "0.5", "--ignore-rate", env=srv.env)
        assert forced.returncode == 0, forced.stderr
        assert "playing it unresampled (--ignore-rate)" in forced.stderr
        with ServerEnv(srv):
            host = JackHost([load_model(seed_model_path())], name="engine", n_outs=1)
            try:
                assert "resampling" in host.rate_notes[44100]
                host.start(connect=False)
                signal = guitar_like(1.0, 48000, seed=4)
                rig = Rig(host, signal)
                rig.run(freewheel=True)
            finally:
                host.close()
        model = play_at(load_model(seed_model_path()), 48000)
        x = np.concatenate([np.zeros(rig.start_frame, np.float32), signal])
        expected = render(model, x, block=128)[rig.start_frame:] * np.float32(ch.db_to_gain(model.output_gain_db))
        assert np.abs(expected).max() > 0.05
        np.testing.assert_array_equal(rig.recording(0), expected)
    finally:
        srv.stop()


def test_server_shutdown_exits_cleanly_with_nonzero_code():
    srv = start_server(RATE, period=128)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "run", "--model", seed_model_path()], cwd=REPO,
                                env=srv.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = proc.stdout.readline()  # printed once the client is active
        assert first.startswith("ampemu run: playing"), first + proc.stderr.read()
        time.sleep(0.3)
    finally:
        srv.stop()
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2, err
    assert "the JACK server shut down" in one_line_error(subprocess.CompletedProcess([], 2, out, err))


def test_sigterm_stops_with_exit_code_zero(server):
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "run", "--model", seed_model_path(), "--no-connect"],
                            cwd=REPO, env=server.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()
    assert first.startswith("ampemu run: playing"), first + proc.stderr.read()
    proc.terminate()
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert err.strip() == ""
