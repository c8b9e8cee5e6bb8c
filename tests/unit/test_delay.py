"""Latency of a capture pair: pure delays found to the sample through phase-shifting and clipping
devices, a device's own phase never removed, and nothing ever removed late (engine/delay.py); the
click finder of the rig's calibration and `ampemu latency` on known clicks."""

import numpy as np
import pytest
from scipy import signal

from support.audio import guitar_like
from support.data import SHARED
from engine.delay import DEVICE_PHASE_MAX, click_train, estimate_delay, find_delay

RATE = 48000


@pytest.fixture(scope="module")
def dry():
    return guitar_like(12.0, RATE, seed=3).astype(np.float64)


def _biquad_allpass(x, hz=700.0, q=0.7):
    w = 2 * np.pi * hz / RATE
    alpha = np.sin(w) / (2 * q)
    return signal.lfilter([1 - alpha, -2 * np.cos(w), 1 + alpha], [1 + alpha, -2 * np.cos(w), 1 - alpha], x)


def _butter(x, order, hz, kind):
    return signal.lfilter(*signal.butter(order, hz, kind, fs=RATE), x)


LINEAR = {
    "all-pass": _biquad_allpass,
    "high-pass": lambda x: _butter(x, 2, 100, "high"),
    "low-pass": lambda x: _butter(x, 2, 2000, "low"),
    "steep low-pass": lambda x: _butter(x, 4, 800, "low"),
    "hard clip": lambda x: np.clip(8 * x, -0.3, 0.3),  # memoryless: no phase of its own
}
PHASE_SHIFTING_NONLINEAR = {
    "clip, low-pass": lambda x: _butter(np.clip(8 * x, -0.3, 0.3), 2, 2000, "low"),
    "high-pass, clip, all-pass": lambda x: _biquad_allpass(np.clip(8 * _butter(x, 2, 100, "high"), -0.3, 0.3)),
    "inverting: all-pass, clip, low-pass": lambda x: -_butter(np.clip(8 * _biquad_allpass(x), -0.3, 0.3), 2, 2000, "low"),
}
DELAYS = (0, 1, 37, 480, 1999)


def _delayed(y, d):
    return np.concatenate([np.zeros(d), y])[:y.size]


@pytest.mark.parametrize("name", LINEAR)
def test_delay_through_phase_shifting_and_clipping_devices_is_found_to_the_sample(dry, name):
    y = LINEAR[name](dry)
    for d in DELAYS:
        found = estimate_delay(dry, _delayed(y, d), RATE)
        assert found.sure and found.lag == d, (name, d, found)
        # the first DEVICE_PHASE_MAX samples of any lag stay in: they may be the device's own phase
        assert found.remove == max(0, d - DEVICE_PHASE_MAX)


@pytest.mark.parametrize("name", PHASE_SHIFTING_NONLINEAR)
def test_delay_is_never_removed_late(dry, name):
    """A clipping device's lag reads late by its phase in the lows; what is removed never is."""
    y = PHASE_SHIFTING_NONLINEAR[name](dry)
    for d in DELAYS:
        found = estimate_delay(dry, _delayed(y, d), RATE)
        assert found.sure and d <= found.lag <= d + DEVICE_PHASE_MAX, (name, d, found)
        assert d - DEVICE_PHASE_MAX <= found.remove <= d and found.remove >= 0


def test_noise_is_not_a_measurement(dry):
    rng = np.random.default_rng(0)
    found = estimate_delay(dry, rng.standard_normal(dry.size), RATE)
    assert not found.sure and found.remove == 0
    assert "no clear delay found" in found.describe(RATE)


@pytest.mark.parametrize("device", ["ts9-clean180_44k", "fuzzface-clean180_48k", "ds1-clean180_48k",
                                    "jcm800-clean180_48k"])
def test_shared_zero_latency_captures_get_nothing_removed(device):
    """Every shared device has zero latency; the DS-1's correlation peaks 32 samples late."""
    sf = pytest.importorskip("soundfile")
    folder = SHARED / "datasets" / device
    if not folder.exists():
        pytest.skip(f"{folder} is missing (the shared captures stay outside the repository)")
    x, rate = sf.read(next(folder.glob("input.*")), dtype="float32", frames=30 * 48000)
    y, _ = sf.read(next(folder.glob("output.*")), dtype="float32", frames=30 * 48000)
    found = estimate_delay(x, y, rate)
    assert found.sure and found.remove == 0 and 0 <= found.lag <= 40, found


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


# an 800 Hz 4th-order low-pass answers a click as t^3: its first 4 samples hold 9e-6 of the answer's
# energy, under the -80 dB floor of a -40 dBFS answer, so they cannot be seen (nor missed by a model)
HIDDEN_ONSET = {"steep low-pass": 4}


@pytest.mark.parametrize("name", {**LINEAR, **PHASE_SHIFTING_NONLINEAR})
def test_calibration_clicks_give_the_pure_delay_through_any_device(capture_signal_30s, name):
    """With the capture signal's clicks the pure delay is exact even where the correlation reads late:
    the answer to a click starts at the pure delay, whatever the device does to its phase."""
    from engine.capture.signal import click_positions

    x = capture_signal_30s
    y = {**LINEAR, **PHASE_SHIFTING_NONLINEAR}[name](x)
    y = y + 10 ** (-80 / 20) * np.random.default_rng(1).standard_normal(y.size)  # a real return's noise floor
    for d in DELAYS:
        found = estimate_delay(x, _delayed(y, d), RATE)
        assert found.clicks == len(click_positions(30.0, RATE)), (name, d, found)
        assert d <= found.lag <= d + HIDDEN_ONSET.get(name, 0) and found.remove == found.lag, (name, d, found)
        assert "calibration clicks" in found.describe(RATE)


def test_clicks_that_disagree_fall_back_to_the_correlation(capture_signal_30s):
    """A take that lost audio between clicks gives no click answer; the cross-correlation decides."""
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
