"""`ampemu latency`: the round trip through a private dummy jackd with a software loopback, whose delay
is known exactly (one JACK cycle plus the loopback's own delay). The click finder: tests/unit/test_delay.py."""

import json

import numpy as np
import pytest

from engine.cli import main
from support.jack import ServerEnv, require_jackd
PERIOD = 64
RATE = 48000


@pytest.fixture(scope="module")
def jack_server():
    from ampemu_tools.dummy_server import DummyJackServer

    require_jackd()
    with DummyJackServer(rate=RATE, period=PERIOD) as server, ServerEnv(server):
        yield server


@pytest.mark.parametrize("delay", [0, 37, 200])
def test_software_loopback_round_trip_is_one_cycle_plus_its_delay(jack_server, tmp_path, capsys, delay):
    out = tmp_path / "latency.json"
    code = main(["latency", "--loopback", "software", "--loopback-delay", str(delay), "--clicks", "2",
                 "--json", str(out)])
    assert code == 0, capsys.readouterr().err
    expected = PERIOD + delay
    printed = capsys.readouterr().out
    assert f"round trip: {expected} frames = {1000 * expected / RATE:.2f} ms at {RATE} Hz" in printed
    assert "algorithmic latency: 0 samples" in printed
    assert f"JACK buffering: period {PERIOD} x nperiods 2 / {RATE} Hz = {2 * PERIOD} frames" in printed
    doc = json.loads(out.read_text())
    assert doc["frames"] == expected and doc["per_click"] == [expected, expected]
    assert doc["match"] > 0.99 and doc["engine_latency_frames"] == 0 and doc["period"] == PERIOD


def test_cable_mode_without_a_cable_says_so_in_one_line(jack_server, capsys):
    """The dummy backend's capture ports are silent: no click comes back."""
    assert main(["latency", "--clicks", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no click came back" in err[0] and "--loopback software" in err[0]


@pytest.mark.hardware
def test_cable_round_trip_on_the_pi():
    """On the Pi: jackd running on the audio interface and a cable from its output 1 to its input 1.
    The round trip is at least JACK's own port latencies and every click comes back at the same delay."""
    from ampemu_tools.latency import measure_round_trip

    result = measure_round_trip(clicks=4)
    assert result.match > 0.5, "the loop returned something, but not the clicks: check the cable and gains"
    assert len(set(result.per_click)) == 1, f"clicks came back at different delays {result.per_click} (xruns?)"
    if result.capture_latency is not None and result.playback_latency is not None:
        assert result.frames >= result.capture_latency + result.playback_latency
    assert result.frames >= result.period
