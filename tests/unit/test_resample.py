"""The streaming resampler (engine/kernels/resample.py): a model captured at one rate played at another.

Quality against analytic sines (THD+N, aliasing into the passband), the exact ratio over a long stream,
block-partition independence, the stated latency, and the same output live (the callback's path) as
offline (`ampemu process` on a file at the server's rate)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from support.audio import guitar_like
from support.presets import SEEDS, seed, stream

from engine.chain.chain import attach
from engine.chain.resampler import build_resampler, play_at
from engine.chain.settings import ChainSettings
from engine.cli import main
from engine.kernels import resample as kernel
from engine.models import load_model
from engine.realtime import channel as ch
from engine.realtime.block import warm_up
from engine.realtime.channel import Channel
from engine.render import render

PAIRS = [(44100, 48000), (48000, 44100), (44100, 96000), (96000, 48000)]  # (server, model)


def to_model_rate(resampler, x: np.ndarray, sizes) -> np.ndarray:
    """The input side alone: x (server rate) in blocks of `sizes` (cycled), the model-rate signal out."""
    r, out, start, k = resampler, [], 0, 0
    while start < x.size:
        stop = min(start + sizes[k % len(sizes)], x.size)
        m = kernel.consume(r.layout, r.weights, r.state, r.cursor, x[start:stop])
        xm, ym = kernel.model_buffers(r.layout, r.state, m)
        out.append(xm.copy())
        ym[:] = 0.0
        kernel.produce(r.layout, r.weights, r.state, r.cursor, m, np.empty(stop - start, np.float32))
        start, k = stop, k + 1
    return np.concatenate(out)


def from_model_rate(resampler, z: np.ndarray, n: int, block: int = 64) -> np.ndarray:
    """The output side alone: z (model rate, long enough) in as the model's output, n server samples out."""
    r, y, used = resampler, np.empty(n, np.float32), 0
    for start in range(0, n, block):
        stop = min(start + block, n)
        m = kernel.consume(r.layout, r.weights, r.state, r.cursor, np.zeros(stop - start, np.float32))
        _, ym = kernel.model_buffers(r.layout, r.state, m)
        ym[:] = z[used:used + m]
        used += m
        kernel.produce(r.layout, r.weights, r.state, r.cursor, m, y[start:stop])
    return y


def round_trip(resampler, x: np.ndarray, block: int) -> np.ndarray:
    y = np.empty_like(x)
    r = resampler
    kernel.resample_in_blocks(r.layout, r.weights, r.state, r.cursor, x, y, block)
    return y


def sine(freq: float, rate: int, n: int, delay: float = 0.0) -> np.ndarray:
    return 0.5 * np.sin(2 * np.pi * freq * (np.arange(n) - delay) / rate)


def residual_db(y: np.ndarray, freq: float, rate: int) -> float:
    """THD+N: what a least-squares fit of a sine at `freq` (and DC) leaves, relative to the sine, in dB."""
    t = np.arange(y.size) / rate
    basis = np.stack([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t), np.ones_like(t)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, y.astype(np.float64), rcond=None)
    fit = basis @ coef
    return 10 * np.log10(np.sum((y - fit) ** 2) / np.sum((fit - coef[2]) ** 2))


@pytest.mark.parametrize("server, model", PAIRS)
def test_each_direction_plays_a_sine_clean_and_on_time(server, model):
    """THD+N below -95 dB for a 1 kHz sine each way, and the stated latency: a round trip of a 100 Hz
    and a 15 kHz sine equals the sine delayed by `latency` server samples within the passband ripple."""
    r = build_resampler(server, model)
    x = sine(1000.0, server, server).astype(np.float32)
    z = to_model_rate(r, x, [64])
    steady = z[z.size // 4:]
    assert residual_db(steady, 1000.0, model) < -95
    r.reset()
    y = from_model_rate(r, sine(1000.0, model, 2 * model).astype(np.float32), server)
    assert residual_db(y[server // 4:], 1000.0, server) < -95
    for freq, bound in ((100.0, 2e-5), (15000.0, 1e-4)):  # 0.5 amplitude: -88 and -74 dB
        r.reset()
        back = round_trip(r, sine(freq, server, server).astype(np.float32), 64)
        expected = sine(freq, server, server, delay=r.latency)
        assert np.max(np.abs(back[server // 4:] - expected[server // 4:])) < bound


@pytest.mark.parametrize("server, model", [(44100, 96000), (48000, 96000)])
def test_nothing_folds_into_the_passband(server, model):
    """A model's output tone in the stopband (at least 0.55 x the lower rate) comes out of the server
    side 80 dB down or more, wherever it folds to; one on the server side does not image into the model."""
    r = build_resampler(server, model)
    for freq in (0.55 * server, 0.62 * server, 0.9 * model / 2):
        y = from_model_rate(r, sine(freq, model, 2 * model).astype(np.float32), server)[server // 4:]
        assert 20 * np.log10(np.sqrt(2 * np.mean(y.astype(np.float64) ** 2)) / 0.5) < -80, freq
    r.reset()
    x = sine(0.44 * server, server, server).astype(np.float32)  # in the passband: its image is at server - f
    z = to_model_rate(r, x, [64])[model // 4:]
    assert residual_db(z, 0.44 * server, model) < -80


def test_the_ratio_is_exact_over_a_long_stream_in_any_partition():
    """Ten minutes at 44.1 kHz through a 48 kHz model's resampler in random blocks: exactly
    ceil(N * 160 / 147) model samples, and the round trip of a sine keeps its phase to the end."""
    server, model = 44100, 48000
    r = build_resampler(server, model)
    n = 600 * server
    sizes = np.random.default_rng(0).integers(1, 600, 20000)
    count, start, k = 0, 0, 0
    probe = np.zeros(600, np.float32)
    while start < n:
        step = min(int(sizes[k % sizes.size]), n - start)
        count += kernel.consume(r.layout, r.weights, r.state, r.cursor, probe[:step])
        start, k = start + step, k + 1
    assert count == -(-n * 160 // 147)
    r = build_resampler(server, model)
    x = sine(997.0, server, 60 * server).astype(np.float32)
    y = round_trip(r, x, 64)
    expected = sine(997.0, server, x.size, delay=r.latency)
    for segment in (slice(server, 2 * server), slice(x.size - server, x.size)):  # no drift: start and end agree
        assert np.max(np.abs(y[segment] - expected[segment])) < 2e-4


def test_output_does_not_depend_on_the_block_partition():
    r = build_resampler(44100, 48000)
    x = guitar_like(1.0, 44100, seed=3)
    whole = round_trip(r, x, 64)
    r.reset()
    sizes = [1, 37, 64, 5, 200, 4096, 3]
    pieces, start, k = [], 0, 0
    while start < x.size:
        stop = min(start + sizes[k % len(sizes)], x.size)
        pieces.append(round_trip(r, x[start:stop], stop - start))
        start, k = stop, k + 1
    assert np.array_equal(np.concatenate(pieces), whole)


def test_a_ratio_that_needs_a_huge_filter_is_refused_in_one_line():
    with pytest.raises(ValueError, match="no resampler between 44100 and 44101 Hz") as info:
        build_resampler(44100, 44101)
    assert "\n" not in str(info.value)


def test_live_and_offline_play_the_same_resampled_model_and_chain(tmp_path):
    """A 44.1 kHz seed model with its chain on a 48 kHz server: the callback's path (64-frame blocks,
    gains) equals the offline render in 37-sample blocks; both are finite after an overflow."""
    settings = ChainSettings(gate_db=-70.0, bass=2.0, treble=-1.0)
    live = play_at(attach(load_model(seed(SEEDS[0])), settings), 48000)
    channel = Channel([live])
    warm_up(channel, 64)
    x = guitar_like(1.0, 48000, seed=8)
    out = stream(channel, x)
    offline = play_at(attach(load_model(seed(SEEDS[0])), settings), 48000)
    expected = render(offline, x, block=37) * np.float32(ch.db_to_gain(live.output_gain_db))
    assert np.array_equal(out, expected)
    assert np.sqrt(np.mean(out ** 2)) > 1e-3
    x[1000:1010] = 3e38  # the model overflows: silence, counted, then it plays again
    out = stream(channel, x)
    assert np.all(np.isfinite(out)) and channel.stats[ch.NON_FINITE] >= 1
    assert np.sqrt(np.mean(out[-4800:] ** 2)) > 1e-3


def test_process_resamples_a_file_at_another_rate_as_the_live_path_does(tmp_path, capsys):
    sf.write(tmp_path / "in.wav", guitar_like(0.5, 48000, seed=2), 48000, subtype="FLOAT")
    assert main(["process", "--model", str(seed(SEEDS[0])), str(tmp_path / "in.wav"), str(tmp_path / "out.wav"),
                 "--gate", "-70", "--block", "100"]) == 0
    said = capsys.readouterr().out
    assert "model 44100 Hz on a 48000 Hz input: resampling, +56 samples latency, ~" in said and "% CPU" in said
    out, rate = sf.read(tmp_path / "out.wav", dtype="float32")
    assert rate == 48000
    model = play_at(attach(load_model(seed(SEEDS[0])), ChainSettings(gate_db=-70.0)), 48000)
    channel = Channel([model])
    warm_up(channel, 64)
    live = stream(channel, sf.read(tmp_path / "in.wav", dtype="float32")[0])
    assert np.array_equal(out * np.float32(ch.db_to_gain(model.output_gain_db)), live)


def test_bench_reports_the_resamplers_cost_and_latency(capsys):
    assert main(["bench", "nam-nano", "seed", "--backends", "numba-exact", "--blocks", "64", "--seconds", "0.2",
                 "--no-progress", "--server-rate", "44100"]) == 0
    out = capsys.readouterr().out
    assert "Resampling nam-nano (48000 Hz) for a 44100 Hz server, +52 samples latency" in out
    assert "seed: captured at 44100 Hz, nothing to resample" in out
    header = next(line for line in out.splitlines() if line.startswith("| block | model alone at 48000 Hz"))
    row = out.splitlines()[out.splitlines().index(header) + 2]
    assert row.startswith("| 64 | ") and row.endswith("x |")
    assert main(["bench", "nam-nano", "--backends", "numba-exact", "--server-rate", "44101", "--no-progress"]) == 2
    assert "--server-rate 44101: no resampler between 44101 and 48000 Hz" in capsys.readouterr().err
