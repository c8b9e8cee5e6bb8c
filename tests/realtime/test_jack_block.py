"""The compiled block code every backend runs, driven directly (no audio server): exact equality with
the offline render, gains, bypass, mute, model slots and the oversize guard."""

from __future__ import annotations

import numpy as np
import pytest

from support.data import data_file
from support.audio import guitar_like
from support.jack import RATE, seed_model_path
from engine.models import load_model
from engine.realtime import channel as ch
from engine.realtime.block import for_families, warm_up
from engine.realtime.channel import Channel
from engine.render import render

BLOCK = 128


def stream(channel: Channel, signal: np.ndarray, n_outs: int = 1, on_block=None) -> np.ndarray:
    """Feed `signal` through interleaved_block as a PortAudio stream would (last block shorter)."""
    out = np.empty((signal.size, n_outs), np.float32)
    interleaved_block = for_families(channel.families).interleaved_block
    for index, start in enumerate(range(0, signal.size, BLOCK)):
        if on_block:
            on_block(index)
        block = signal[start:start + BLOCK]
        interleaved_block(channel.descriptor, block.reshape(-1, 1).copy(), out[start:start + block.size])
    return out


@pytest.fixture(scope="module")
def signal():
    return guitar_like(0.5, RATE, seed=9)


def test_output_equals_offline_render_with_gains_on_every_output(signal):
    model = load_model(seed_model_path())
    channel = Channel([model], n_outs=2)
    channel.set_input_gain_db(3.0)
    channel.set_output_gain_db(-4.0)
    warm_up(channel, BLOCK)
    out = stream(channel, signal, n_outs=2)
    reference = load_model(seed_model_path())
    expected = render(reference, signal * np.float32(ch.db_to_gain(3.0)))
    expected *= np.float32(ch.db_to_gain(-4.0) * ch.db_to_gain(model.output_gain_db))
    np.testing.assert_array_equal(out[:, 0], expected)
    np.testing.assert_array_equal(out[:, 1], expected)
    assert channel.stats[ch.BLOCKS] == -(-signal.size // BLOCK)
    assert channel.stats[ch.FRAMES] == signal.size
    # both clocks ran: thread CPU time is positive and cannot much exceed the wall time
    assert 0 < channel.stats[ch.CPU_SUM_NS] <= 1.1 * channel.stats[ch.TIME_SUM_NS] + 1e6


def test_slot_switch_takes_effect_at_the_next_block(signal):
    paths = [seed_model_path(), str(data_file("models", "wavenetva", "PedalNetRT_pedalnet.json"))]
    channel = Channel([load_model(p) for p in paths])
    warm_up(channel, BLOCK)
    switch = 10  # block index where slot 1 starts playing

    out = stream(channel, signal, on_block=lambda i: channel.select_slot(1) if i == switch else None)
    cut = switch * BLOCK
    first, second = (load_model(p) for p in paths)
    gain = [np.float32(ch.db_to_gain(m.output_gain_db)) for m in (first, second)]
    np.testing.assert_array_equal(out[:cut, 0], render(first, signal[:cut]) * gain[0])
    # slot 1 never ran before the switch: it starts from its reset state (the presets issue crossfades)
    np.testing.assert_array_equal(out[cut:, 0], render(second, signal[cut:]) * gain[1])
    with pytest.raises(ValueError, match="slot 2 is not loaded"):
        channel.select_slot(2)


def test_bypass_mute_and_oversize_guard(signal):
    channel = Channel([load_model(seed_model_path())])
    channel.set_bypass(True)
    np.testing.assert_array_equal(stream(channel, signal)[:, 0], signal)
    channel.set_mute(True)
    assert not stream(channel, signal).any()
    channel.set_mute(False)
    channel.set_bypass(False)
    huge = np.ones((ch.MAX_BLOCK + 1, 1), np.float32)
    out = np.full_like(huge, 7.0)
    for_families(channel.families).interleaved_block(channel.descriptor, huge, out)
    assert not out.any() and channel.stats[ch.OVERSIZE] == 1  # silenced and counted, never overrun


def test_statistics_percentiles_from_histogram():
    channel = Channel([load_model(seed_model_path())])
    channel.histogram[[10, 20, 30]] = [98, 1, 1]  # 1.0-1.1 us x98, 2.0-2.1 us, 3.0-3.1 us
    channel.stats[ch.BLOCKS], channel.stats[ch.TIME_SUM_NS] = 100, 100 * 1050
    snap = channel.snapshot()
    assert snap.percentile_us(50) == pytest.approx(1.1)
    assert snap.percentile_us(99) == pytest.approx(2.1)
    assert snap.percentile_us(100) == pytest.approx(3.1)
    assert snap.max_us() == pytest.approx(3.1)
    assert snap.mean_us() == pytest.approx(1.05)


def test_nam_family_runs_through_the_same_block_code():
    """The callback dispatches on the model family: a .nam capture (family 2, prewarmed on reset)
    comes out of the real-time block code exactly as from the offline render."""
    path = data_file("models", "nam", "random_nano.nam")
    channel = Channel([load_model(path)])
    warm_up(channel, BLOCK)
    signal = guitar_like(0.3, 48000, seed=4)
    out = stream(channel, signal)
    reference = load_model(path)
    expected = render(reference, signal) * np.float32(ch.db_to_gain(reference.output_gain_db))
    np.testing.assert_array_equal(out[:, 0], expected)


def test_scope_ring_holds_the_latest_input_and_output_even_while_muted(signal):
    """The meters and the tuner read the callback's scope ring: the raw input and output 1, the
    latest samples last; while muted the input is still recorded (the tuner keeps working)."""
    channel = Channel([load_model(seed_model_path())])
    channel.set_input_gain_db(6.0)  # the ring holds the input before any gain
    warm_up(channel, BLOCK)
    out = stream(channel, signal)
    x, y, end = channel.read_scope(3000)
    assert end == signal.size and x.size == y.size == 3000
    np.testing.assert_array_equal(x, signal[-3000:])
    np.testing.assert_array_equal(y, out[-3000:, 0])
    x, y, _ = channel.read_scope(10 * ch.SCOPE_RING)  # never more than half the ring
    assert x.size == ch.SCOPE_RING // 2
    channel.set_mute(True)
    stream(channel, signal[:1000])
    x, y, end = channel.read_scope(1000)
    assert end == signal.size + 1000
    np.testing.assert_array_equal(x, signal[:1000])
    assert not y.any()
    fresh = Channel([load_model(seed_model_path())])  # nothing played yet: no stale zeros pretend to be audio
    assert fresh.read_scope(512)[0].size == 0


def test_scope_read_drops_what_the_callback_overwrote_during_the_copy(monkeypatch):
    """The reader never blocks the callback: it rereads the write position after copying, and samples
    the callback may have overwritten meanwhile (older than position - ring) are dropped."""
    channel = Channel([load_model(seed_model_path())])
    channel.scope[:ch.SCOPE_RING] = np.arange(ch.SCOPE_RING, dtype=np.float32)  # input sample i holds i
    end, advanced = 3 * ch.SCOPE_RING, 1000  # the callback wrote 1000 more frames during the copy
    positions = iter([end, end + advanced, end + advanced])
    monkeypatch.setattr(ch, "load_acquire", lambda array, index: next(positions))
    x, _, position = channel.read_scope(ch.SCOPE_RING // 2)
    assert position == end
    # asked for [end - 8192, end); [end - 8192, end + 1000 - 16384) = 0 frames are stale: all kept
    assert x.size == ch.SCOPE_RING // 2
    positions = iter([end, end + 9000, end + 9000])  # 9000 more: the oldest 9000 - 8192 = 808 are stale
    x, _, _ = channel.read_scope(ch.SCOPE_RING // 2)
    assert x.size == ch.SCOPE_RING // 2 - 808
    np.testing.assert_array_equal(x, np.arange(end - 8192 + 808, end) % ch.SCOPE_RING)
