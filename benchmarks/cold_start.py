"""The first start: `ampemu process` (and `ampemu run`) of one model from an empty compile cache, then again from it.

A fresh install (or an update) compiles the kernels for this CPU before the first sound. This runs
`ampemu process --model MODEL` on one second of noise in a child process whose numba cache
(AMPEMU_NUMBA_CACHE) is an empty folder, then a second time on the filled cache, and prints the
wall time, the child's CPU time (user + system: less sensitive to other work on the machine than the
wall time) and the load average around each run. Target (#20): the cold run within 60 s.
With --run it also times `ampemu run --model MODEL --duration 1 --no-connect` on a private dummy
jackd (ampemu_tools/dummy_server.py), from its own empty cache: loading, compiling the real-time
callback for the model's family, warming up, then 1 s of playing.

    .venv/bin/python benchmarks/cold_start.py                                   # NAM A1 standard
    .venv/bin/python benchmarks/cold_start.py --run                             # and `ampemu run` on JACK
    .venv/bin/python benchmarks/cold_start.py --tree ../main                    # another checkout's code
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = REPO.parent / "shared" / "models" / "nam" / "wavenet_a1_standard.nam"


def timed_process(model: Path, cache: Path, workdir: Path, tree: Path = REPO) -> dict:
    """One `ampemu process` in a child with its own numba cache: wall and CPU seconds, load around it."""
    source, target = workdir / "in.wav", workdir / "out.wav"
    if not source.exists():
        sf.write(source, (0.3 * np.random.default_rng(0).standard_normal(48000)).astype(np.float32), 48000,
                 subtype="FLOAT")
    return timed_child(["process", "--model", str(model), str(source), str(target)], dict(os.environ), cache, tree)


def timed_run(model: Path, cache: Path, server_env: dict, tree: Path = REPO) -> dict:
    """One `ampemu run` of 1 s on the dummy server, unconnected, in a child with its own numba cache."""
    return timed_child(["run", "--model", str(model), "--duration", "1", "--no-connect"], server_env, cache, tree)


def timed_child(args: list[str], env: dict, cache: Path, tree: Path) -> dict:
    """`ampemu ARGS` in a child with its own numba cache: wall and CPU seconds, load around it."""
    env = dict(env, AMPEMU_NUMBA_CACHE=str(cache), PYTHONPATH=str(tree))
    load_before = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "engine.cli", *args], env=env, cwd=tree, capture_output=True,
                          text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"ampemu {args[0]} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    compiled = [line for line in done.stderr.splitlines() if line.startswith("ampemu: compiled")]
    return {"wall_s": wall, "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "load": (load_before, os.getloadavg()[0]), "said": compiled}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--tree", type=Path, default=REPO, help="the checkout whose code runs (default: this one)")
    parser.add_argument("--run", action="store_true", help="also time `ampemu run` on a private dummy jackd")
    args = parser.parse_args()
    model, runs = args.model.resolve(), {}
    with tempfile.TemporaryDirectory(prefix="ampemu-cold-") as tmp:
        cache, tree = Path(tmp) / "numba", args.tree.resolve()
        runs["process, cold (empty cache)"] = timed_process(model, cache, Path(tmp), tree)
        runs["process, warm (cached)"] = timed_process(model, cache, Path(tmp), tree)
        if args.run:
            from ampemu_tools.dummy_server import DummyJackServer

            with DummyJackServer(rate=48000, period=128) as server:
                runs["run, cold (empty cache)"] = timed_run(model, Path(tmp) / "numba-run", server.env, tree)
                runs["run, warm (cached)"] = timed_run(model, Path(tmp) / "numba-run", server.env, tree)
    print(f"model: {args.model.name}; code: {tree}; {os.cpu_count()} cores")
    print("| command | wall s | CPU s | load average before / after |")
    print("|---|---:|---:|---|")
    for name, run in runs.items():
        print(f"| {name} | {run['wall_s']:.1f} | {run['cpu_s']:.1f} | {run['load'][0]:.1f} / {run['load'][1]:.1f} |")
    for name, run in runs.items():
        if run["said"]:
            print(f"{name}: " + " ".join(run["said"]))


if __name__ == "__main__":
    main()
