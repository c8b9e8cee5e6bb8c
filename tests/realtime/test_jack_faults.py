"""What `ampemu run` does when JACK is missing, goes away, runs at the wrong rate or lacks a port.

Each case runs the real console command in a child process, as a user or systemd would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from support.data import REPO
from support.jack import RATE, ampemu, seed_model_path, start_server
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


def test_wrong_sample_rate_is_refused_with_a_fix_and_overridable():
    srv = start_server(48000, period=128)
    try:
        refused = ampemu("run", "--model", seed_model_path(), "--duration", "0.5", env=srv.env)
        assert refused.returncode == 2
        line = one_line_error(refused)
        assert "JACK runs at 48000 Hz" in line and "44100 Hz" in line and "--ignore-rate" in line
        forced = ampemu("run", "--model", seed_model_path(), "--duration", "0.5", "--ignore-rate", env=srv.env)
        assert forced.returncode == 0, forced.stderr
        assert "playing anyway" in forced.stderr
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
