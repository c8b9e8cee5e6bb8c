"""`ampemu latency`: the click finder on known signals, and the round trip through a private dummy jackd
with a software loopback, whose delay is known exactly (one JACK cycle plus the loopback's own delay)."""

import json

import numpy as np
import pytest
from scipy.signal import lfilter

from engine.cli import main
from engine.round_trip import click_train, find_delay
from support.jack import ServerEnv, require_jackd
PERIOD = 64
RATE = 48000


@pytest.fixture(scope="module")
def jack_server():
    from ampemu_tools.dummy_server import DummyJackServer

    require_jackd()
    with DummyJackServer(rate=RATE, period=PERIOD) as server, ServerEnv(server):
        yield server


@pytest.mark.parametrize("delay", [0, 1, 37, 1000])
def test_find_delay_locates_a_filtered_inverted_noisy_click(delay):
    sent = click_train(3, 2000, lead=100, level=0.5)
    # what a converter does to a click: smear it (a short low-pass), maybe invert it, add noise
    received = -lfilter([0.2, 0.6, 0.2], [1.0], np.concatenate([np.zeros(delay, np.float32), sent]))
    received += 0.002 * np.random.default_rng(delay).standard_normal(received.size)
    lag, match = find_delay(sent, received.astype(np.float32), max_lag=1500)
    assert lag == delay + 1  # the symmetric smear's centre is one sample late
    assert match > 0.8


def test_find_delay_reports_no_match_on_silence():
    sent = click_train(2, 500, lead=10, level=0.5)
    assert find_delay(sent, np.zeros(sent.size + 100, np.float32), 100)[1] == 0.0


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
