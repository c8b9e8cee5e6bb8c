"""What the signal chain costs in the callback: NAM A1 standard + a 200 ms cabinet IR + gate + tone
stack + high-pass at 64 frames, one core, against the model alone (target: <= 1.25x).

Run: .venv/bin/python benchmarks/bench_chain.py [--seconds 10] [--block 64]
     (or under pytest: .venv/bin/python -m pytest benchmarks/bench_chain.py -s)
Both configurations run the callback's own block code (`render_block` on a channel, gains and
parameter copy included) in one compiled loop, each block timed with clock_gettime, interleaved
round by round so a change in the machine's load hits both alike. Prints the per-stage table of
`ampemu bench` too.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf
from numba import njit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # tests/support, also as a script

from ampemu_tools.benchmarking import _wall_ns, bench_signal, chain_cost, chain_markdown  # noqa: E402
from engine.chain.chain import attach  # noqa: E402
from engine.chain.settings import ChainSettings  # noqa: E402
from engine.models import load_model  # noqa: E402
from engine.kernels.dispatch import NAM_WAVENET, flags  # noqa: E402
from engine.realtime.block import render, warm_up  # noqa: E402
from engine.realtime.channel import Channel  # noqa: E402
from support.data import data_file  # noqa: E402

MODEL = ("models", "nam", "wavenet_a1_standard.nam")
GATED, WAVENET, LSTM = flags(frozenset((NAM_WAVENET,)))  # MODEL's family: the callback compiled for it


@njit(cache=True, error_model="numpy")
def _timed_callbacks(d, x, y, block, times):
    for b in range(times.shape[0]):
        t0 = _wall_ns()
        render(GATED, WAVENET, LSTM, d, x[b * block:(b + 1) * block], y[b * block:(b + 1) * block], block)
        times[b] = _wall_ns() - t0


def cabinet_ir(path: Path, rate: int, seconds: float = 0.2) -> Path:
    rng = np.random.default_rng(0)
    n = int(seconds * rate)
    sf.write(str(path), (0.2 * rng.standard_normal(n) * np.exp(-np.arange(n) / (0.02 * rate))).astype(np.float32),
             rate, subtype="FLOAT")
    return path


def measure(seconds: float = 10.0, block: int = 64, rounds: int = 5) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        bare = load_model(data_file(*MODEL))
        settings = ChainSettings(ir=cabinet_ir(Path(tmp) / "cab.wav", bare.sample_rate), gate_db=-65.0, bass=2.0,
                                 mid=-1.0, treble=1.5, highpass_hz=30.0)
        full = attach(load_model(data_file(*MODEL)), settings)
        channels = {"model alone": Channel([bare]), "model + chain": Channel([full])}
        for channel in channels.values():
            warm_up(channel, block)
        x = bench_signal(seconds / rounds, bare.sample_rate)
        blocks = x.size // block
        y = np.empty_like(x)
        times = {name: [] for name in channels}
        for _ in range(rounds):
            for name, channel in channels.items():
                t = np.zeros(blocks, np.int64)
                _timed_callbacks(channel.descriptor, x, y, block, t)
                times[name].append(t)
        stats = {name: (float(np.median(np.concatenate(t))) / 1e3, float(np.percentile(np.concatenate(t), 99)) / 1e3)
                 for name, t in times.items()}
        stages = chain_cost(bare, settings, block, seconds=min(seconds, 2.0))
    return {"block": block, "rate": bare.sample_rate, "callback": stats,
            "ratio_median": stats["model + chain"][0] / stats["model alone"][0],
            "ratio_p99": stats["model + chain"][1] / stats["model alone"][1], "stages": stages}


def report(result: dict) -> str:
    period = result["block"] / result["rate"] * 1e6
    lines = [f"NAM A1 standard, {result['block']} frames at {result['rate']} Hz (period {period:.0f} us), "
             f"render_block per callback, us (median / p99):", "",
             "| callback | median us | p99 us |", "|---|---:|---:|"]
    for name, (median, p99) in result["callback"].items():
        lines.append(f"| {name} | {median:.1f} | {p99:.1f} |")
    lines += ["", f"ratio model + chain / model alone: median {result['ratio_median']:.2f}x, "
                  f"p99 {result['ratio_p99']:.2f}x (target <= 1.25x)", "",
              chain_markdown("NAM A1 standard", [result["stages"]])]
    return "\n".join(lines)


def test_chain_costs_at_most_a_quarter_of_the_model():
    result = measure(seconds=2.0)
    print("\n" + report(result))
    assert result["ratio_median"] <= 1.25


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--block", type=int, default=64)
    args = parser.parse_args()
    print(report(measure(args.seconds, args.block)))
