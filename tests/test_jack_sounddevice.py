"""The sounddevice (PortAudio) fallback: same compiled block code, exact offline equivalence, and a
real stream through PortAudio's JACK host API on a private dummy jackd (no sound card needed)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from conftest import guitar_like
from jack_support import RATE, ampemu, seed_model_path, start_server

from engine.models import load_model
from engine.realtime import channel as ch
from engine.realtime.block import interleaved_block, warm_up
from engine.realtime.channel import Channel
from engine.render import render


def test_interleaved_block_equals_offline_render_on_every_output():
    model = load_model(seed_model_path())
    channel = Channel([model], n_outs=2)
    channel.set_output_gain_db(-4.0)
    warm_up(channel, 128)
    signal = guitar_like(0.5, RATE, seed=9)
    out = np.empty((signal.size, 2), np.float32)
    for start in range(0, signal.size, 128):  # the last block is shorter, as a stream's may be
        block = signal[start:start + 128]
        interleaved_block(channel.descriptor, block.reshape(-1, 1).copy(), out[start:start + block.size])
    expected = render(model, signal) * np.float32(ch.db_to_gain(-4.0) * ch.db_to_gain(model.output_gain_db))
    np.testing.assert_array_equal(out[:, 0], expected)
    np.testing.assert_array_equal(out[:, 1], expected)
    assert channel.stats[ch.BLOCKS] == -(-signal.size // 128)


@pytest.fixture(scope="module")
def server():
    srv = start_server(RATE, period=128)
    yield srv
    srv.stop()


def test_sounddevice_backend_streams_through_portaudio(server):
    # PortAudio lists the JACK server as device "system" when one runs at its start-up
    result = ampemu("run", "--backend", "sounddevice", "--device", "system", "--blocksize", "128", "--model",
                    seed_model_path(), "--duration", "2", "--stats", "--stats-interval", "0.5", env=server.env)
    assert result.returncode == 0, result.stderr
    blocks = [int(m) for m in re.findall(r"^blocks (\d+)", result.stdout, re.M)]
    assert blocks and blocks[-1] > 300, result.stdout  # ~690 blocks of 128 in 2 s at 44.1 kHz


def test_sounddevice_unknown_device_is_one_line(server):
    result = ampemu("run", "--backend", "sounddevice", "--device", "no-such-card", "--model", seed_model_path(),
                    env=server.env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no-such-card" in lines[0] and "devices:" in lines[0], result.stderr
