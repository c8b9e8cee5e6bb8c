"""The first start: `ampemu process` of one model from an empty compile cache, then again from the cache.

A fresh install (or an update) compiles the kernels for this CPU before the first sound. This runs
`ampemu process --model MODEL` on one second of noise in a child process whose numba cache
(AMPEMU_NUMBA_CACHE) is an empty folder, then a second time on the filled cache, and prints the
wall time, the child's CPU time (user + system: less sensitive to other work on the machine than the
wall time) and the load average around each run. Target (#20): the cold run within 60 s.

    .venv/bin/python benchmarks/cold_start.py                                   # NAM A1 standard
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
    env = dict(os.environ, AMPEMU_NUMBA_CACHE=str(cache), PYTHONPATH=str(tree))
    load_before = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "engine.cli", "process", "--model", str(model), str(source),
                           str(target)], env=env, cwd=tree, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"ampemu process failed ({done.returncode}):\n{done.stderr[-2000:]}")
    compiled = [line for line in done.stderr.splitlines() if line.startswith("ampemu: compiled")]
    return {"wall_s": wall, "cpu_s": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "load": (load_before, os.getloadavg()[0]), "said": compiled}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--tree", type=Path, default=REPO, help="the checkout whose code runs (default: this one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ampemu-cold-") as tmp:
        cache, tree = Path(tmp) / "numba", args.tree.resolve()
        cold = timed_process(args.model.resolve(), cache, Path(tmp), tree)
        warm = timed_process(args.model.resolve(), cache, Path(tmp), tree)
    print(f"model: {args.model.name}; code: {tree}; {os.cpu_count()} cores")
    print("| run | wall s | CPU s | load average before / after |")
    print("|---|---:|---:|---|")
    for name, run in (("cold (empty cache)", cold), ("warm (cached)", warm)):
        print(f"| {name} | {run['wall_s']:.1f} | {run['cpu_s']:.1f} | {run['load'][0]:.1f} / {run['load'][1]:.1f} |")
    print("\n".join(cold["said"]))


if __name__ == "__main__":
    main()
