"""ampemu's NAM kernels against NeuralAmpModelerCore's own `benchmodel`, alternately, in one run.

Run: .venv/bin/python benchmarks/bench_nam_core.py --core PATH/TO/benchmodel [--rounds 7] [--models standard,A2-Lite]
     (--models LSTM,LSTM-8,LSTM-16,LSTM-24x3,LSTM-32: Core's example LSTM, hidden 3, and LSTMs of the
     sizes people train, random weights written to a temporary .nam for both players)
     (or under pytest with NAM_CORE_BENCHMODEL=PATH: .venv/bin/python -m pytest benchmarks/bench_nam_core.py -s;
     it skips, saying why, when no benchmodel is given)
Build benchmodel from NeuralAmpModelerCore's sources (docs/benchmarks.md has the command; -O3 -march=native).
benchmodel times 1500 blocks of 64 frames (2 s at 48 kHz) after its Reset and prewarm, one thread, and
prints the total; ours is timed the same way (the same 1500 blocks of 64 through the compiled kernel,
after reset and prewarm). RTF = that time / 2 s. Core's round and ours alternate, so a change in the
machine's load hits both alike; the table shows medians over rounds and their ratio (below 1: ampemu
is faster). Core feeds zeros (its benchmodel's input); we feed guitar-level noise (the work does not
depend on the values). Core's default is its fast tanh (A1; A2 has no tanh): `exact` rows are compared
with that default, and with `--core-exact` also with Core's --no-fast-tanh.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from numba import njit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # tests/support, also as a script

from ampemu_tools.bench_models import resolve_target, slimmed_target  # noqa: E402
from ampemu_tools.benchmarking import _wall_ns, bench_signal  # noqa: E402
from engine.kernels.dispatch import process_block  # noqa: E402
from engine.models import load_model  # noqa: E402
from support.data import data_file  # noqa: E402

BLOCK, BLOCKS, RATE = 64, 1500, 48000  # benchmodel's: (48000 / 64) * 2 buffers of 64
AUDIO_SECONDS = BLOCK * BLOCKS / RATE
# name -> (file under models/, --slim)
MODELS = {
    "standard": ("nam/wavenet_a1_standard.nam", None),
    "lite": ("nam/random_lite.nam", None),
    "feather": ("nam/random_feather.nam", None),
    "nano": ("nam/random_nano.nam", None),
    "A2-Full": ("nam-a2/fuzzface_a2.nam", 1.0),
    "A2-Lite": ("nam-a2/fuzzface_a2.nam", 0.25),
    "LSTM": ("nam-a2/lstm.nam", None),
    **{f"LSTM-{size}": (None, None) for size in ("8", "16", "24x3", "32")},
}
ENV = "NAM_CORE_BENCHMODEL"
CLOCKS = ("wall", "cpu", "block")  # whole loop wall time, its CPU time, the median block's wall time


def model_path(name: str, folder: Path) -> Path:
    """The file of MODELS[name]: under models/, or for "LSTM-HxL" (L = 1 if absent) a random-weight
    LSTM of hidden size H and L layers written into `folder`."""
    file = MODELS[name][0]
    if file is not None:
        return data_file("models", *file.split("/"))
    from engine.formats.nam import write_nam
    from support.nam_reference import random_lstm
    hidden, _, layers = name.removeprefix("LSTM-").partition("x")
    return write_nam(random_lstm(int(hidden), int(layers or 1), seed=int(hidden)), folder / f"{name}.nam")


def core_rtf(benchmodel: str, path: Path, slim: float | None, exact: bool = False) -> dict:
    """One benchmodel run: RTF of its timed loop (wall), and, from a benchmodel built with the
    per-block timer (docs/benchmarks.md), of the median block and of the loop's CPU time."""
    args = [benchmodel, *(["--slim", str(slim)] if slim is not None else []), *(["--no-fast-tanh"] if exact else []),
            str(path)]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True).stdout

    def number(pattern: str) -> float | None:
        found = re.findall(pattern, out, re.MULTILINE)
        return float(found[-1]) if found else None

    wall_ms = number(r"^([0-9.]+)ms$")
    if wall_ms is None:
        raise RuntimeError(f"benchmodel printed no time: {out[-300:]}")
    cpu_ms, block_us = number(r"^([0-9.]+)ms cpu$"), number(r"^([0-9.]+)us median block$")
    return {"wall": wall_ms / 1e3 / AUDIO_SECONDS, "cpu": cpu_ms / 1e3 / AUDIO_SECONDS if cpu_ms else None,
            "block": block_us * 1e-6 * RATE / BLOCK if block_us else None}


@njit(cache=True, error_model="numpy")
def _timed_blocks(layout, weights, state, cursor, x, y, block, times):
    """The blocks through the kernel in one compiled loop, each timed (wall ns), as the patched benchmodel."""
    for b in range(times.shape[0]):
        t0 = _wall_ns()
        process_block(layout, weights, state, cursor, x[b * block:(b + 1) * block], y[b * block:(b + 1) * block])
        times[b] = _wall_ns() - t0


def ours_rtf(model, x: np.ndarray, y: np.ndarray) -> dict:
    model.reset()  # zeroed state and NAM's prewarm, as benchmodel's Reset
    times = np.zeros(BLOCKS, np.int64)
    cpu, wall = time.thread_time(), time.perf_counter()
    _timed_blocks(model.layout, model.weights, model.state, model.cursor, x, y, BLOCK, times)
    cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
    return {"wall": wall / AUDIO_SECONDS, "cpu": cpu / AUDIO_SECONDS, "block": float(np.median(times)) * 1e-9 * RATE / BLOCK}


def compare(benchmodel: str, names, modes=("exact", "fast"), rounds: int = 7, core_exact: bool = False) -> list[dict]:
    """Per model: medians over `rounds` alternating rounds of each clock's RTF, for Core and each of our modes."""
    x = bench_signal(AUDIO_SECONDS, RATE)[:BLOCK * BLOCKS]
    y = np.empty_like(x)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_nam_core_") as tmp:
        for name in names:
            slim = MODELS[name][1]
            path = model_path(name, Path(tmp))
            models = {mode: load_model(path, fast=mode == "fast", slim=slim) for mode in modes}
            for model in models.values():
                ours_rtf(model, x, y)  # compile or load the kernels, warm the caches
            core_rtf(benchmodel, path, slim)
            runs = {key: [] for key in ("core", *(["core_exact"] if core_exact else []), *modes)}
            for _ in range(rounds):
                runs["core"].append(core_rtf(benchmodel, path, slim))
                if core_exact:
                    runs["core_exact"].append(core_rtf(benchmodel, path, slim, exact=True))
                for mode, model in models.items():
                    runs[mode].append(ours_rtf(model, x, y))
            target = resolve_target(str(path))
            row = {"model": name, "rounds": rounds,
                   "macs_per_sample": (slimmed_target(target, slim) if slim is not None else target).macs_per_sample}
            for key, found in runs.items():
                for clock in CLOCKS:
                    values = [r[clock] for r in found if r[clock] is not None]
                    row[f"{key}_{clock}"] = round(float(np.median(values)), 5) if values else None
            rows.append(row)
    return rows


def clock_of(rows: list[dict]) -> str:
    """The clock the ratios use: the median block where Core reports it (robust to a shared machine's
    preemptions), else the whole loop's wall time."""
    return "block" if all(r["core_block"] for r in rows) else "wall"


def markdown(rows: list[dict], modes) -> str:
    clock = clock_of(rows)
    core_exact = "core_exact_wall" in rows[0]
    head = ("| model | MACs/sample | Core RTF | " + ("Core --no-fast-tanh | " if core_exact else "")
            + " | ".join(f"ampemu {m} RTF | ratio {m}" for m in modes) + f" | ampemu {modes[0]} GMAC/s |")
    lines = [head, "|---" * (head.count("|") - 1) + "|"]
    for r in rows:
        cells = [r["model"], str(r["macs_per_sample"]), f"{r[f'core_{clock}']:.4f}",
                 *([f"{r[f'core_exact_{clock}']:.4f}"] if core_exact else [])]
        cells += [c for m in modes for c in (f"{r[f'{m}_{clock}']:.4f}", f"{r[f'{m}_{clock}'] / r[f'core_{clock}']:.2f}x")]
        cells.append(f"{r['macs_per_sample'] * RATE / r[f'{modes[0]}_{clock}'] / 1e9:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"RTF from the {'median block' if clock == 'block' else 'whole loop'} (wall clock), medians over "
              f"{rows[0]['rounds']} alternating rounds; ratio = ampemu / Core (below 1: ampemu is faster)"]
    return "\n".join(lines)


def test_against_core():
    import pytest

    benchmodel = os.environ.get(ENV)
    if not benchmodel or not Path(benchmodel).is_file():
        pytest.skip(f"set {ENV} to NeuralAmpModelerCore's benchmodel (see docs/benchmarks.md) to compare with it")
    print("\n" + markdown(compare(benchmodel, MODELS), ("exact", "fast")))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--core", default=os.environ.get(ENV), help=f"NeuralAmpModelerCore's benchmodel (or ${ENV})")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated: " + ", ".join(MODELS))
    parser.add_argument("--modes", default="exact,fast")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--core-exact", action="store_true", help="also time Core with --no-fast-tanh")
    args = parser.parse_args(argv)
    if not args.core or not Path(args.core).is_file():
        print(f"skipped: no NeuralAmpModelerCore benchmodel (give --core PATH or set {ENV}; docs/benchmarks.md "
              "says how to build it)")
        return 0
    modes = tuple(args.modes.split(","))
    rows = compare(args.core, args.models.split(","), modes, args.rounds, args.core_exact)
    print(markdown(rows, modes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
