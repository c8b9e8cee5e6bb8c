"""Latency of a capture pair: pure delays found within a sample through phase-shifting and clipping
devices driven by a DI-like signal, never removed late (engine/delay.py); the four shared captures;
the click finder of the rig's calibration and `ampemu latency` on known clicks."""

import numpy as np
import pytest
from scipy import signal

from support.audio import di_like
from support.data import SHARED
from engine.delay import click_train, estimate_delay, find_delay

RATE = 48000
FLOOR = 10 ** (-80 / 20)  # a real return's noise floor


@pytest.fixture(scope="module")
def dry():
    return di_like(8.0, RATE, seed=3)


def _biquad_allpass(x, hz=700.0, q=0.7):
    w = 2 * np.pi * hz / RATE
    alpha = np.sin(w) / (2 * q)
    return signal.lfilter([1 - alpha, -2 * np.cos(w), 1 + alpha], [1 + alpha, -2 * np.cos(w), 1 - alpha], x)


def _butter(x, order, hz, kind):
    return signal.lfilter(*signal.butter(order, hz, kind, fs=RATE), x)


def _tube(u):
    """An asymmetric soft clipper: the negative half saturates earlier, as a triode's grid does."""
    return np.where(u > 0, np.tanh(u), 0.6 * np.tanh(u / 0.6))


def _amp(x):
    """Two biased tube stages between an input's coupling and treble roll-off, a coupling capacitor and a
    speaker-less output's band: what an amp does to the phase of the lows and mids, and to the onset."""
    u = _butter(_butter(x, 1, 120, "high"), 1, 6000, "low")
    u = _butter(_tube(40 * u + 0.2) - _tube(0.2), 1, 30, "high")
    u = _tube(4 * u - 0.1) - _tube(-0.1)
    return _butter(_butter(u, 2, 4500, "low"), 2, 80, "high")


DEVICES = {
    "all-pass": _biquad_allpass,
    "high-pass": lambda x: _butter(x, 2, 100, "high"),
    "low-pass": lambda x: _butter(x, 2, 2000, "low"),
    "hard clip": lambda x: np.clip(8 * x, -0.3, 0.3),  # memoryless: its linear part (Bussgang) is a pure delay
    "clip, low-pass": lambda x: _butter(np.clip(8 * x, -0.3, 0.3), 2, 2000, "low"),
    "high-pass, clip, all-pass": lambda x: _biquad_allpass(np.clip(8 * _butter(x, 2, 100, "high"), -0.3, 0.3)),
    "inverting: all-pass, clip, low-pass": lambda x: -_butter(np.clip(8 * _biquad_allpass(x), -0.3, 0.3), 2, 2000, "low"),
    "amp": _amp,
    "steep low-pass": lambda x: _butter(x, 4, 800, "low"),
}
DELAYS = (0, 1, 37, 480, 1999)
# an 800 Hz 4th-order low-pass answers as t^3: its first 5 taps hold 4e-5 of its energy, under the
# noise of any estimate (the clicks' too), so its onset reads up to 5 late; no other device here reads late
HIDDEN_ONSET = {"steep low-pass": 5}


def _delayed(y, d):
    return np.concatenate([np.zeros(d), y])[:y.size]


def _played(device, x):
    # the noise's seed is none of the DI's: drawn from the DI's own stream it would be correlated with it
    return device(x) + FLOOR * np.random.default_rng(80).standard_normal(x.size)


SHARP = {"all-pass", "high-pass"}  # linear devices whose response jumps from nothing at its first tap


@pytest.mark.parametrize("name", DEVICES)
def test_pure_delay_is_removed_within_two_samples_and_never_late(dry, name):
    """The correlation peaks up to 20 samples late here (the device's phase); the onset of the
    least-squares response does not. A sharp onset is removed whole; a faint one less 2 samples."""
    y = _played(DEVICES[name], dry)
    late = HIDDEN_ONSET.get(name, 0)
    for d in DELAYS:
        found = estimate_delay(dry, _delayed(y, d), RATE)
        assert found.sure and d - 1 <= found.lag <= d + max(2, late), (name, d, found)
        assert found.margin == (0 if name in SHARP else 2) and found.remove == max(0, found.lag - found.margin)
        assert max(0, d - 2) <= found.remove <= d + max(0, late - found.margin), (name, d, found)
    assert "the device's response starts there" in found.describe(RATE)


def test_noise_is_not_a_measurement(dry):
    rng = np.random.default_rng(0)
    found = estimate_delay(dry, rng.standard_normal(dry.size), RATE)
    assert not found.sure and found.remove == 0
    assert "no clear delay found" in found.describe(RATE)


def test_a_response_that_starts_far_before_its_peak_is_refused(dry):
    """A quiet direct sound and a loud echo 300 samples later: the correlation peaks at the echo, and
    the fit's noise floor, read before it, holds the direct sound. Unsure: nothing removed."""
    y = 0.1 * _delayed(dry, 480) + _delayed(dry, 780) + FLOOR * np.random.default_rng(2).standard_normal(dry.size)
    found = estimate_delay(dry, y, RATE)
    assert found.peak == 780 and not found.sure and found.remove == 0, found
    assert "unclear" in found.describe(RATE)


# where each shared device's response starts (../shared/README.md says all four have zero latency; the
# guitarix DS-1 oversamples without reporting it: its answer to a click rendered with lv2apply is nothing
# for 16 samples, a resampler's pre-ringing, then its main lobe at 32-33)
SHARED_ONSET = {"ts9-clean180_44k": 0, "fuzzface-clean180_48k": 0, "ds1-clean180_48k": 32, "jcm800-clean180_48k": 0}


@pytest.mark.parametrize("device", SHARED_ONSET)
def test_shared_captures(device):
    sf = pytest.importorskip("soundfile")
    folder = SHARED / "datasets" / device
    if not folder.exists():
        pytest.skip(f"{folder} is missing (the shared captures stay outside the repository)")
    x, rate = sf.read(next(folder.glob("input.*")), dtype="float32", frames=30 * 48000)
    y, _ = sf.read(next(folder.glob("output.*")), dtype="float32", frames=30 * 48000)
    onset = SHARED_ONSET[device]
    for d in (0, 480):
        found = estimate_delay(x, _delayed(y, d), rate)
        assert found.sure and onset + d <= found.lag <= onset + d + 1, (d, found)
        assert max(0, onset + d - 2) <= found.remove <= onset + d, (d, found)


@pytest.mark.parametrize("delay", [0, 1, 37, 1000])
def test_find_delay_locates_a_filtered_inverted_noisy_click(delay):
    sent = click_train(3, 2000, lead=100, level=0.5)
    # what a converter does to a click: smear it (a short low-pass), maybe invert it, add noise
    received = -signal.lfilter([0.2, 0.6, 0.2], [1.0], np.concatenate([np.zeros(delay, np.float32), sent]))
    received += 0.002 * np.random.default_rng(delay).standard_normal(received.size)
    lag, match = find_delay(sent, received.astype(np.float32), max_lag=1500)
    assert lag == delay + 1  # the symmetric smear's centre is one sample late
    assert match > 0.8


def test_find_delay_reports_no_match_on_silence():
    sent = click_train(2, 500, lead=10, level=0.5)
    assert find_delay(sent, np.zeros(sent.size + 100, np.float32), 100)[1] == 0.0


@pytest.fixture(scope="module")
def capture_signal_30s():
    from engine.capture.signal import capture_signal

    return capture_signal(30.0, RATE).astype(np.float64)


@pytest.mark.parametrize("name", DEVICES)
def test_calibration_clicks_give_the_pure_delay_through_any_device(capture_signal_30s, name):
    """With the capture signal's clicks the pure delay is exact even where the correlation reads late:
    the answer to a click starts at the pure delay, whatever the device does to its phase."""
    from engine.capture.signal import click_positions

    x = capture_signal_30s
    y = DEVICES[name](x)
    y = y + 10 ** (-80 / 20) * np.random.default_rng(1).standard_normal(y.size)  # a real return's noise floor
    for d in DELAYS:
        found = estimate_delay(x, _delayed(y, d), RATE)
        assert found.clicks == len(click_positions(30.0, RATE)), (name, d, found)
        assert d <= found.lag <= d + HIDDEN_ONSET.get(name, 0) and found.remove == found.lag, (name, d, found)
        assert "calibration clicks" in found.describe(RATE)


def test_clicks_that_disagree_fall_back_to_the_fit(capture_signal_30s):
    """A take that lost audio between clicks gives no click answer; the least-squares fit decides."""
    from engine.capture.signal import click_positions

    x = capture_signal_30s
    y = np.clip(8 * x, -0.3, 0.3)
    second, fourth = click_positions(30.0, RATE)[1], click_positions(30.0, RATE)[3]
    y = np.concatenate([y[:second - 1000], np.zeros(300), y[second - 1000:fourth - 1000], np.zeros(600),
                        y[fourth - 1000:]])[:x.size]  # 300 then 900 samples late after two dropouts
    found = estimate_delay(x, y, RATE)
    assert found.clicks == 0 and found.remove == 0, found


def test_playing_without_clicks_has_none(dry):
    from engine.delay import isolated_clicks

    assert isolated_clicks(dry, RATE).size == 0
