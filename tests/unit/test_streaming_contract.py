"""The streaming interface every model family promises (engine/streaming.py), checked on each family:
bit-identical output for any block partition, reset restores the initial state, causal with zero
added latency."""

import numpy as np
import pytest

from support.data import data_file
from support.audio import guitar_like, run_partition
from engine.models import load_model

FAMILIES = {
    "gated WaveNet (.json)": ("models", "wavenetva", "WaveNetVA_WaveNet2-ts7.json"),
    "NAM A1 WaveNet": ("models", "nam", "random_lite.nam"),
    "NAM A2 container": ("models", "nam-a2", "fuzzface_a2.nam"),
    "NAM LSTM": ("models", "nam-a2", "lstm.nam"),
}


@pytest.fixture(scope="module", params=list(FAMILIES), ids=list(FAMILIES))
def model(request):
    return load_model(data_file(*FAMILIES[request.param]))


def test_output_is_bit_identical_for_any_partition(model):
    """Blocks straddling the kernels' internal history compaction (every 2048 samples) included."""
    x = guitar_like(0.25, model.sample_rate, seed=5)
    whole = run_partition(model, x, [x.size])
    rng = np.random.default_rng(0)
    for sizes in ([1], [64], [2047, 2], [5000], list(rng.integers(1, 700, size=50))):
        assert np.array_equal(run_partition(model, x, sizes), whole), sizes


def test_reset_restores_the_initial_state(model):
    x = guitar_like(0.2, model.sample_rate, seed=1)
    first = run_partition(model, x, [64])
    model.process(guitar_like(0.1, model.sample_rate, seed=2))  # leave some history behind
    assert np.array_equal(run_partition(model, x, [64]), first)


def test_causal_and_zero_latency(model):
    """An impulse at sample n changes nothing before n and the output at n itself: no added latency."""
    silence = np.zeros(3000, np.float32)
    base = run_partition(model, silence, [64])
    impulse = silence.copy()
    impulse[1000] = 0.5
    out = run_partition(model, impulse, [64])
    assert np.array_equal(out[:1000], base[:1000])
    assert out[1000] != base[1000]


# --- the real-time path (engine/realtime/block.py, what the JACK and sounddevice callbacks run) -----

def _live_blocks(model, x, block=64):
    """x through the real-time block code, slot 0 playing, in `block`-frame calls."""
    from engine.realtime import channel as ch
    from engine.realtime.block import for_families

    channel = ch.Channel([model])
    render_block, interleaved_block = for_families(channel.families)
    channel.start_on(0)
    model.reset()
    y = np.empty_like(x)
    for start in range(0, x.size, block):
        n = min(block, x.size - start)
        if (start // block) % 2:  # the buffer-API variant (sounddevice) on every other block
            out = np.empty((n, 1), np.float32)
            interleaved_block(channel.descriptor, np.ascontiguousarray(x[start:start + n, None]), out)
            y[start:start + n] = out[:, 0]
        else:
            render_block(channel.descriptor, x[start:start + n], y[start:start + n], n)
    return y, int(channel.stats[ch.NON_FINITE])


def test_live_path_plays_nan_and_inf_input_as_silence(model):
    """One NaN or Inf sample from a glitching interface is played as a zero sample, sample-exact, and
    counted; it never reaches the model's state, so the pedal keeps sounding (the LSTM used to stay
    NaN until a reset)."""
    x = guitar_like(0.1, model.sample_rate, seed=7)
    dirty, clean = x.copy(), x.copy()
    for at, value in ((100, np.nan), (1000, np.inf), (1001, -np.inf), (3000, np.nan)):
        dirty[at], clean[at] = value, 0.0
    y, counted = _live_blocks(model, dirty)
    expected, _ = _live_blocks(model, clean)
    assert np.all(np.isfinite(y))
    assert np.array_equal(y, expected)
    assert counted == 3  # blocks holding a bad sample (1000 and 1001 share one)


def test_live_path_clears_a_slot_whose_output_goes_non_finite(model):
    """Whatever poisons a model's state (here NaN written into it; live, a sum that overflows), the
    block that shows it plays silence, the slot starts afresh, and the next block sounds again."""
    from engine.realtime import channel as ch
    from engine.realtime.block import for_families

    channel = ch.Channel([model])
    render_block = for_families(channel.families).render_block
    channel.start_on(0)
    x = guitar_like(0.05, model.sample_rate, seed=8)
    y = np.empty_like(x)
    render_block(channel.descriptor, x[:64], y[:64], 64)
    model.state[:] = np.nan
    for start in range(64, x.size, 64):
        render_block(channel.descriptor, x[start:start + 64], y[start:start + 64], min(64, x.size - start))
    assert np.all(np.isfinite(y))
    assert np.array_equal(y[64:128], np.zeros(64, np.float32))  # the poisoned block: silence
    assert np.abs(y[128:]).max() > 1e-4  # playing again from the next block
    assert channel.stats[ch.NON_FINITE] == 1
