"""Is the default recipe stable? `ampemu demo` once per training seed, and the spread of its test ESR.

Issue 14's target: the demo's test ESR (3 minutes of training) within a factor of 1.5 across 5 seeds.
The capture is the demo's built-in one every time; only the training's seed (initial weights, the
order of the windows) changes. The demo's budget is wall-clock time, so a busy machine makes fewer
steps: the table says how many each run made, and --steps N compares the seeds at N steps each
(the recipe's own spread, whatever the machine's load).

    .venv/bin/python benchmarks/demo_seeds.py                      # 5 seeds x 3 minutes, one after the other
    .venv/bin/python benchmarks/demo_seeds.py --steps 300 --minutes 30
    .venv/bin/python benchmarks/demo_seeds.py --seeds 0 1 --minutes 1 --threads 2
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STEPS = re.compile(r"training: (\d+) steps in (\d+) s, best validation ESR ([\d.]+) %")
TEST = re.compile(r"test split \(torch\): ESR ([\d.]+) %")


def demo(seed: int, minutes: float, steps: int | None, threads: int, out_dir: Path) -> dict:
    print(f"seed {seed}: training {minutes:g} min" + (f" or {steps} steps" if steps else "") + " ...", flush=True)
    budget = ["--minutes", str(minutes)] + (["--max-steps", str(steps)] if steps else [])
    result = subprocess.run([sys.executable, "-m", "engine.cli", "demo", "--seed", str(seed), *budget,
                             "--threads", str(threads), "--out-dir", str(out_dir / f"seed{seed}")],
                            cwd=REPO, capture_output=True, text=True)
    steps, test = STEPS.search(result.stdout), TEST.search(result.stdout)
    if result.returncode or not (steps and test):
        raise SystemExit(f"seed {seed}: the demo failed (exit {result.returncode}):\n{(result.stdout + result.stderr)[-3000:]}")
    return {"seed": seed, "steps": int(steps[1]), "best_val_esr_pct": float(steps[3]), "test_esr_pct": float(test[1])}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--minutes", type=float, default=3.0)
    p.add_argument("--steps", type=int, default=None, help="also stop each run after this many steps")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--work", type=Path, default=None, help="where the demo folders go (default: a temporary folder)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        work = args.work or Path(scratch)
        runs = [demo(seed, args.minutes, args.steps, args.threads, work) for seed in args.seeds]
    print(f"\n| seed | steps | best validation ESR | test ESR |\n|---|---|---|---|")
    for r in runs:
        print(f"| {r['seed']} | {r['steps']} | {r['best_val_esr_pct']:.2f} % | {r['test_esr_pct']:.2f} % |")
    tests = [r["test_esr_pct"] for r in runs]
    print(f"\ntest ESR spread (worst / best): {max(tests) / max(min(tests), 1e-9):.2f}x "
          f"over {len(runs)} seeds, {args.minutes:g} min"
          + (f" or {args.steps} steps" if args.steps else "") + f" each, {args.threads} thread(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
