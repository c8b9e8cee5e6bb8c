"""The signal chain (gate, tone stack, cabinet IR, high-pass): exact against scipy references, zero
added latency, the same in the callback as offline, MIDI and Python control, click-free IR switches."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from support.audio import guitar_like, run_partition
from support.presets import SEEDS, max_step, seed, stream

from engine.chain.chain import attach, build_chain
from engine.chain.ir import load_ir, read_ir, resample
from engine.chain.settings import ChainSettings
from engine.errors import AmpemuError
from engine.kernels import chain as kernel
from engine.kernels.chain import cc_eq_db, cc_gate_db
from engine.kernels import fft
from engine.models import load_model
from engine.realtime import channel as ch
from engine.realtime.block import warm_up
from engine.realtime.channel import Channel
from engine.render import render

RATE = 44100
BLOCK = 64


def cabinet(seconds: float, rate: int, seed_: int = 0) -> np.ndarray:
    """A cabinet-like IR: decaying noise through a resonance, first tap non-zero."""
    rng = np.random.default_rng(seed_)
    n = int(seconds * rate)
    h = rng.standard_normal(n) * np.exp(-np.arange(n) / (0.01 * rate))
    h = scipy.signal.lfilter([1.0], [1.0, -1.6, 0.8], h)
    return 0.3 * h / np.max(np.abs(h))


def write_ir(path, h, rate):
    sf.write(str(path), np.asarray(h, np.float32), rate, subtype="FLOAT")
    return path


def bare_model():
    return load_model(seed(SEEDS[0]))


def rbj(kind: str, f0: float, value: float, rate: int, q: float = 1 / math.sqrt(2)):
    """The Audio EQ Cookbook's biquads (R. Bristow-Johnson), written out here from the cookbook."""
    w = 2 * math.pi * f0 / rate
    a = 10 ** (value / 40)
    if kind == "peak":
        alpha = math.sin(w) / (2 * q)
        b, den = [1 + alpha * a, -2 * math.cos(w), 1 - alpha * a], [1 + alpha / a, -2 * math.cos(w), 1 - alpha / a]
    else:
        alpha = math.sin(w) / 2 * math.sqrt(2)  # shelf slope 1
        k = 2 * math.sqrt(a) * alpha
        c = math.cos(w)
        if kind == "lowshelf":
            b = [a * ((a + 1) - (a - 1) * c + k), 2 * a * ((a - 1) - (a + 1) * c), a * ((a + 1) - (a - 1) * c - k)]
            den = [(a + 1) + (a - 1) * c + k, -2 * ((a - 1) + (a + 1) * c), (a + 1) + (a - 1) * c - k]
        else:
            b = [a * ((a + 1) + (a - 1) * c + k), -2 * a * ((a - 1) + (a + 1) * c), a * ((a + 1) + (a - 1) * c - k)]
            den = [(a + 1) - (a - 1) * c + k, 2 * ((a - 1) - (a + 1) * c), (a + 1) - (a - 1) * c - k]
    return np.array(b) / den[0], np.array(den) / den[0]


def highpass(f0: float, rate: int):
    """The chain's high-pass: first-order Butterworth, -3 dB at f0 (scipy prewarps the corner)."""
    return scipy.signal.butter(1, f0, "highpass", fs=rate)


# --- the FFT -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [4, 8, 64, 128, 1024])
def test_real_fft_and_its_inverse_match_numpy(n):
    cos_t, sin_t, rcos, rsin, bitrev = fft.tables(n)
    m = n // 2
    x = np.random.default_rng(n).standard_normal(n)
    re, im, wre, wim = np.zeros(m + 1), np.zeros(m + 1), np.zeros(m), np.zeros(m)
    fft.rfft(x, re, im, wre, wim, cos_t, sin_t, rcos, rsin, bitrev)
    np.testing.assert_allclose(re + 1j * im, np.fft.rfft(x), atol=1e-12 * n)
    back = np.zeros(n)
    fft.irfft_scaled(re, im, back, wre, wim, cos_t, sin_t, rcos, rsin, bitrev)
    np.testing.assert_allclose(back / m, x, atol=1e-12 * n)


# --- the cabinet IR --------------------------------------------------------------------------------------

@pytest.mark.parametrize("sizes", [[1], [64], [37, 64, 5, 200, 1], [4096]])
def test_render_equals_fftconvolve_of_the_model_output_for_any_block_partition(tmp_path, sizes):
    h = cabinet(0.2, RATE)
    settings = ChainSettings(ir=write_ir(tmp_path / "cab.wav", h, RATE), highpass_hz=0.0)
    x = guitar_like(1.0, RATE, seed=3)
    dry = render(bare_model(), x)
    played = run_partition(attach(bare_model(), settings), x, sizes)
    expected = scipy.signal.fftconvolve(dry.astype(np.float64), h.astype(np.float32).astype(np.float64))[:x.size]
    assert np.max(np.abs(played - expected)) <= 1e-5


@pytest.mark.parametrize("taps", [1, 63, 64, 65, 129, 1000])
def test_ir_lengths_around_the_partition_size(taps):
    h = cabinet(taps / RATE, RATE, seed_=taps)[:taps]
    chain = kernel.build(h, RATE)
    params = ChainSettings(highpass_hz=0.0).vector()
    x = np.random.default_rng(taps).standard_normal(3000).astype(np.float32)
    y = x.copy()
    model = bare_model()
    model.kernels.play_in_blocks(model.layout, model.weights, model.state, model.cursor, *chain, params, x, y, 50)
    dry = render(bare_model(), x, block=50)
    expected = scipy.signal.fftconvolve(dry.astype(np.float64), h.astype(np.float32).astype(np.float64))[:x.size]
    assert np.max(np.abs(y - expected)) <= 1e-5


def test_the_chain_adds_no_latency(tmp_path):
    """An impulse comes out as the IR from its own sample on, and through the filters as their own
    impulse response (lfilter's, which starts at sample 0)."""
    h = cabinet(0.1, RATE, seed_=9).astype(np.float32)
    chain = build_chain(ChainSettings(ir=write_ir(tmp_path / "cab.wav", h, RATE), highpass_hz=0.0), RATE)
    impulse = np.zeros(8000, np.float32)
    impulse[0] = 1.0
    y = impulse.copy()
    chain.process(impulse, y)
    assert y[0] != 0.0
    np.testing.assert_allclose(y[:h.size], h, atol=1e-6)
    assert np.max(np.abs(y[h.size:])) < 1e-6
    eq = build_chain(ChainSettings(bass=4.0, mid=-3.0, treble=2.0, highpass_hz=40.0), RATE)
    y = impulse.copy()
    eq.process(impulse, y)
    expected = impulse.astype(np.float64)
    for b, a in (rbj("lowshelf", 150, 4.0, RATE), rbj("peak", 425, -3.0, RATE, 0.7), rbj("highshelf", 1800, 2.0, RATE),
                 highpass(40, RATE)):
        expected = scipy.signal.lfilter(b, a, expected)
    assert np.argmax(np.abs(y) > 1e-3) == 0
    np.testing.assert_allclose(y, expected, atol=1e-6)


def test_ir_files_resample_normalise_and_fail_in_one_line(tmp_path):
    rate = 44100
    t = np.arange(4410) / rate
    tone = np.sin(2 * np.pi * 1000 * t) * np.hanning(t.size)
    back = resample(resample(tone, rate, 48000), 48000, rate)
    assert resample(tone, rate, 48000).size == 4800
    assert np.max(np.abs(back - tone)) < 1e-3  # band-limited content survives the round trip
    stretched = resample(tone, rate, 48000)
    t48 = np.arange(stretched.size) / 48000
    np.testing.assert_allclose(stretched, np.sin(2 * np.pi * 1000 * t48) * np.interp(t48, t, np.hanning(t.size)), atol=2e-3)

    stereo = np.stack([cabinet(0.05, 48000), np.zeros(2400)], axis=1)
    sf.write(str(tmp_path / "st.wav"), stereo, 48000)
    ir = load_ir(tmp_path / "st.wav", 48000, normalize=True)
    assert ir.channels == 2 and ir.samples.size == 2400
    assert abs(np.sum(ir.samples ** 2) - 1.0) < 1e-9
    assert load_ir(tmp_path / "st.wav", 44100).samples.size == 2205

    sf.write(str(tmp_path / "long.wav"), np.ones(int(1.5 * 8000)) * 0.1, 8000)
    sf.write(str(tmp_path / "zero.wav"), np.zeros(100), 48000)
    (tmp_path / "junk.wav").write_bytes(b"not audio at all")
    sf.write(str(tmp_path / "nan.wav"), np.array([0.5, np.nan, 0.1]), 48000, subtype="FLOAT")
    (tmp_path / "folder.wav").mkdir()
    with open(tmp_path / "huge.wav", "wb") as huge:  # sparse: the size cap refuses it before any read
        huge.truncate(17 * 2 ** 20)
    for name, message in (("none.wav", "no such impulse response"), ("junk.wav", "not a readable audio file"),
                          ("long.wav", "1.50 s long"), ("zero.wav", "all zeros"), ("nan.wav", "NaN or infinite"),
                          ("folder.wav", "not a regular file"), ("huge.wav", "more than an impulse response")):
        with pytest.raises(AmpemuError) as err:
            read_ir(tmp_path / name)
        assert message in str(err.value) and name in str(err.value) and "\n" not in str(err.value)


# --- tone stack, high-pass, gate ----------------------------------------------------------------------

def test_tone_stack_and_high_pass_equal_lfilter_with_the_cookbook_coefficients():
    x = guitar_like(0.5, 48000, seed=4)
    chain = build_chain(ChainSettings(bass=6.0, mid=-4.5, treble=3.0, highpass_hz=35.0), 48000)
    y = x.copy()
    for start in range(0, x.size, 100):  # any block partition
        chain.process(x[start:start + 100], y[start:start + 100])
    bands = [rbj("lowshelf", 150, 6.0, 48000), rbj("peak", 425, -4.5, 48000, 0.7), rbj("highshelf", 1800, 3.0, 48000),
             highpass(35, 48000)]
    expected = x.astype(np.float64)
    for b, a in bands:
        expected = scipy.signal.lfilter(b, a, expected)
    assert np.max(np.abs(y - expected)) <= 1e-5
    # and the bands do what their names say
    assert abs(20 * np.log10(np.abs(scipy.signal.freqz(*bands[0], worN=[1.0], fs=48000)[1][0])) - 6.0) < 0.01
    assert abs(20 * np.log10(np.abs(scipy.signal.freqz(*bands[1], worN=[425.0], fs=48000)[1][0])) + 4.5) < 0.01
    assert abs(20 * np.log10(np.abs(scipy.signal.freqz(*bands[2], worN=[23999.0], fs=48000)[1][0])) - 3.0) < 0.01
    assert abs(20 * np.log10(np.abs(scipy.signal.freqz(*bands[3], worN=[35.0], fs=48000)[1][0])) + 3.01) < 0.01


def gate_signal(rate):
    """1 s of a loud note, 1 s of hiss at -70 dBFS RMS, then the note again."""
    rng = np.random.default_rng(2)
    note = guitar_like(1.0, rate, seed=5)
    hiss = (10 ** (-70 / 20) * rng.standard_normal(rate)).astype(np.float32)
    return np.concatenate([note, hiss, note])


def test_gate_passes_playing_silences_hiss_and_reopens():
    x = gate_signal(RATE)
    chain = build_chain(ChainSettings(gate_db=-50.0, gate_release_ms=50.0, highpass_hz=0.0), RATE)
    y = x.copy()  # the "model" is the identity here: the gate's gain is y / x
    chain.process(x, y)
    assert np.array_equal(y[:RATE // 2], x[:RATE // 2])  # open while playing
    hiss_out = y[RATE + RATE // 4:2 * RATE]
    # closed: 20 dB under the threshold, NAM's curve reduces by 0.1 * 20^2 = 40 dB
    reduction = 20 * np.log10(np.sqrt(np.mean(hiss_out.astype(np.float64) ** 2) / np.mean(x[RATE + RATE // 4:2 * RATE] ** 2)))
    assert abs(reduction + 40.0) < 1.0, reduction
    again = y[2 * RATE + RATE // 50:2 * RATE + RATE // 2]  # open again within 20 ms of the note
    assert np.array_equal(again, x[2 * RATE + RATE // 50:2 * RATE + RATE // 2])
    blocks = x.copy()
    fresh = build_chain(ChainSettings(gate_db=-50.0, highpass_hz=0.0), RATE)
    for start in range(0, x.size, 77):
        fresh.process(x[start:start + 77], blocks[start:start + 77])
    assert np.array_equal(blocks, y)  # the same for any block partition


def test_gate_hold_and_hysteresis_keep_it_open():
    rate = RATE
    rng = np.random.default_rng(3)
    loud = (0.1 * rng.standard_normal(rate // 2)).astype(np.float32)  # -20 dB
    near = (10 ** (-53 / 20) * rng.standard_normal(rate // 2)).astype(np.float32)  # 3 dB under -50
    x = np.concatenate([loud, near])
    for hysteresis, stays_open in ((0.0, False), (6.0, True)):
        chain = build_chain(ChainSettings(gate_db=-50.0, gate_hysteresis_db=hysteresis, highpass_hz=0.0), rate)
        y = x.copy()
        chain.process(x, y)
        assert np.array_equal(y[-rate // 4:], x[-rate // 4:]) == stays_open
    # hold: the level drops to silence; the gate starts closing only after the hold time
    x = np.concatenate([loud, np.zeros(rate // 2, np.float32) + np.float32(1e-7)])
    for hold_ms in (10.0, 200.0):
        chain = build_chain(ChainSettings(gate_db=-50.0, gate_hold_ms=hold_ms, highpass_hz=0.0), rate)
        y = x.copy()
        chain.process(x, y)
        closing = np.flatnonzero(y[rate // 2:] != x[rate // 2:])[0] / rate * 1000
        # the detector (10 ms half-life) needs ~ 50 ms to fall 30 dB under the threshold, then the hold
        assert hold_ms + 20 < closing < hold_ms + 120, (hold_ms, closing)


# --- in the callback --------------------------------------------------------------------------------

def chained(name, tmp_path, ir_seed, **values):
    path = write_ir(tmp_path / f"cab{ir_seed}.wav", cabinet(0.2, RATE, ir_seed), RATE)
    return attach(load_model(seed(name)), ChainSettings(ir=path, **values))


def test_callback_plays_model_and_chain_exactly_as_the_offline_render(tmp_path):
    settings = dict(gate_db=-60.0, bass=2.0, mid=-1.0, treble=3.0)
    model = chained(SEEDS[0], tmp_path, 1, **settings)
    channel = Channel([model])
    warm_up(channel, BLOCK)
    x = guitar_like(1.0, RATE, seed=8)
    out = stream(channel, x)
    reference = render(chained(SEEDS[0], tmp_path, 1, **settings), x) * np.float32(ch.db_to_gain(model.output_gain_db))
    assert np.array_equal(out, reference)


def test_a_poisoned_chain_state_plays_one_block_silent_and_the_slot_starts_afresh(tmp_path):
    """NaN in an IR's or a filter's state (live: a sum that overflowed) is caught after the chain as
    after the model: that block is silent, model and chain restart from zeroed state, the next sounds."""
    model = chained(SEEDS[0], tmp_path, 3, bass=3.0)
    channel = Channel([model])
    warm_up(channel, BLOCK)
    x = guitar_like(0.1, RATE, seed=9)
    y = np.empty_like(x)
    y[:BLOCK] = stream(channel, x[:BLOCK])
    model.chain.fstate[:] = np.nan
    model.chain.state[:] = np.nan
    y[BLOCK:] = stream(channel, x[BLOCK:])
    assert np.array_equal(y[BLOCK:2 * BLOCK], np.zeros(BLOCK, np.float32))
    assert np.all(np.isfinite(y)) and np.abs(y[2 * BLOCK:]).max() > 1e-4
    assert channel.stats[ch.NON_FINITE] == 1
    assert np.all(np.isfinite(model.chain.fstate)) and np.all(np.isfinite(model.chain.state))


def test_midi_tone_and_gate_controllers_and_python_changes_apply_at_their_frame(tmp_path):
    model = chained(SEEDS[0], tmp_path, 2)
    channel = Channel([model])
    channel.set_midi_map(None, {"bass": 20, "gate": 21}, {})
    warm_up(channel, BLOCK)
    x = guitar_like(0.5, RATE, seed=9)
    switch_block, offset = 40, 23

    def on_block(i):
        if i == switch_block:
            v = channel.voice
            for k, (cc, value) in enumerate(((20, 100), (21, 64))):
                v[ch.EVENTS_AT + k] = (offset << 24) | (0xB0 << 16) | (cc << 8) | value
            v[ch.BLOCK_EVENTS] = 2
        if i == switch_block + 100:
            channel.set_chain(0, treble=-4.0, highpass_hz=80.0)
    out = stream(channel, x, on_block)
    ref = chained(SEEDS[0], tmp_path, 2)
    ref.reset()
    y = np.empty_like(x)
    at, later = switch_block * BLOCK + offset, (switch_block + 100) * BLOCK
    ref.process(x[:at], y[:at])
    ref.chain.params[kernel.P_BASS], ref.chain.params[kernel.P_GATE_DB] = cc_eq_db(100), cc_gate_db(64)
    ref.process(x[at:later], y[at:later])
    ref.chain.params[kernel.P_TREBLE], ref.chain.params[kernel.P_HIGHPASS_HZ] = -4.0, 80.0
    ref.process(x[later:], y[later:])
    assert np.array_equal(out, y * np.float32(ch.db_to_gain(model.output_gain_db)))
    assert channel.chain_values(0)["treble"] == -4.0 and channel.chain_values(0)["gate_db"] is None
    with pytest.raises(ValueError, match="'bass' must be a number in -20..20"):
        channel.set_chain(0, bass=float("nan"))
    assert cc_gate_db(0) == kernel.GATE_OFF and cc_eq_db(64) == 0.0 and cc_eq_db(127) == 12.0


def test_switching_presets_with_different_irs_every_block_for_10_s_has_no_click(tmp_path):
    """Three presets, each with its own IR and tone stack; a request every block. The click detector
    (largest sample-to-sample step) must stay within 1.1x of the presets played alone."""
    models = [chained(name, tmp_path, i, bass=2.0 * i, treble=-i) for i, name in enumerate(SEEDS)]
    channel = Channel(models)
    channel.set_crossfade(1323, "equal-gain")  # 30 ms
    channel.set_midi_map(None, {}, {0: 0, 1: 1, 2: 2})
    warm_up(channel, BLOCK)
    x = np.tile(guitar_like(1.0, RATE, seed=10), 10)
    rng = np.random.default_rng(6)

    def on_block(i):
        if i % 7 == 0:
            channel.reset_released_slots()
        v = channel.voice
        v[ch.EVENTS_AT] = (int(rng.integers(0, BLOCK)) << 24) | (0xC0 << 16) | (int(i % 3) << 8)
        v[ch.BLOCK_EVENTS] = 1
    out = stream(channel, x, on_block)
    assert np.isfinite(out).all() and channel.stats[ch.FADES] > 200
    alone = []
    for slot, name in enumerate(SEEDS):
        gain = np.float32(channel.control[ch.SLOT_GAIN + slot])
        alone.append(render(chained(name, tmp_path, slot, bass=2.0 * slot, treble=-slot), x) * gain)
    assert max_step(out) <= 1.1 * max(max_step(y) for y in alone)
    assert np.abs(out).max() <= 1.0001 * max(np.abs(y).max() for y in alone)


def test_the_web_page_gets_the_selected_presets_tone_and_gate_knobs(tmp_path):
    """The web page's knob table (engine/web/pedal.py) sets the selected slot's chain through the
    control channel, range-checked; values read back as the callback will use them."""
    from engine.web.pedal import Pedal

    channel = Channel([chained(SEEDS[0], tmp_path, 1), chained(SEEDS[1], tmp_path, 2, bass=1.0)])
    channel.start_on(1)
    pedal = Pedal(channel, ["a", "b"], RATE)
    assert {"gate_db", "bass", "mid", "treble", "highpass_hz"} <= set(pedal.params)
    assert pedal.params["bass"].get() == 1.0 and pedal.params["gate_db"].get() == -100.0  # off
    pedal.set_params({"bass": -3.5, "gate_db": -60.0})
    assert channel.chain_values(1)["bass"] == -3.5 and channel.chain_values(1)["gate_db"] == -60.0
    assert channel.chain_values(0)["bass"] == 0.0  # the other preset keeps its own
    with pytest.raises(ValueError, match="treble must be a number in -12.0..12.0"):
        pedal.set_params({"treble": 40.0})
