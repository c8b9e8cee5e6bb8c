"""Fidelity on other playing, every shared device, at equal time against NAM's trainer.

For each device in ../shared/datasets (the 180 s capture `<device>-clean180_*`), train `ampemu train`
for MINUTES of wall-clock time, play the device's other-playing take (`<device>-muted30_*`: another
performance on another instrument, never trained on) through the exported model with `ampemu process`
(what a user hears) and grade its ESR. With --nam, NAM's own trainer (../shared/tools/nam-baseline)
gets the same budget on the same files, and is graded on the same take.

    .venv/bin/python benchmarks/fidelity.py --minutes 10 --nam            # the table in docs/training.md
    .venv/bin/python benchmarks/fidelity.py --minutes 3 --devices jcm800 -- --lr 2e-3   # try a recipe change
    .venv/bin/python benchmarks/fidelity.py --minutes 5 --nam --together --devices held-out   # benchmarks/guitarix.py

Run it alone on the machine: both trainers get one thread each and run side by side per device
(--together) or one after the other (the default), so that each sees the same machine.
Prints a Markdown table and writes runs and results.json under --work.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from guitarix import HELD_OUT, held_out_pair

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DEVICES = ("ts9", "fuzzface", "ds1", "jcm800")
GRADE_FROM = 4096  # samples: skip the start-up, as NAM's baseline does


def pair(device: str, kind: str, work: Path) -> tuple[Path, Path]:
    if device in HELD_OUT:
        return held_out_pair(device, kind, SHARED / "datasets", work)
    folder = next((SHARED / "datasets").glob(f"{device}-{kind}*"))
    return next(folder.glob("input.*")), next(folder.glob("output.*"))


def esr(pred: np.ndarray, target: np.ndarray, delay: int = 0) -> float:
    """ESR of `pred` against `target` less the `delay` that training removed (a model trained on an
    aligned capture answers that much earlier than the device did)."""
    target, pred = target[GRADE_FROM + delay:].astype(np.float64), pred[GRADE_FROM:pred.size - delay].astype(np.float64)
    return float(np.sum((target - pred) ** 2) / np.sum(target ** 2))


def ampemu(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "engine.cli", *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def nam_baseline(capture, test, minutes: float) -> subprocess.Popen:
    return subprocess.Popen([str(SHARED / "tools" / "nam-baseline"), str(capture[0]), str(capture[1]), str(minutes),
                             "a1std", "--test", str(test[0]), str(test[1])],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})


def finish(proc: subprocess.Popen, what: str) -> str:
    out, _ = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"{what} failed (exit {proc.returncode}):\n{out[-3000:]}")
    return out


def grade_ampemu(run_dir: Path, test) -> dict:
    model = next(p for p in (run_dir / "model.nam", run_dir / "model.json") if p.exists())
    rendered = run_dir / "other-playing.wav"
    # the model alone: the chain's default 20 Hz high-pass is not part of the device being graded
    finish(ampemu("process", "--model", str(model), "--highpass", "0", str(test[0]), str(rendered)), "ampemu process")
    pred, _ = sf.read(rendered, dtype="float64")
    target, _ = sf.read(test[1], dtype="float64")
    summary = json.loads((run_dir / "summary.json").read_text())
    delay = json.loads((run_dir / "config.json").read_text())["delay_samples"]
    return {"steps": summary["steps"], "val_esr": summary.get("best_val_esr"), "delay": delay,
            "test_esr": esr(pred, target, delay)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--devices", default=",".join(DEVICES),
                    help=f"comma-separated: the shared {', '.join(DEVICES)}, the held-out {', '.join(HELD_OUT)} "
                         "(guitarix at its defaults), or held-out for all of those")
    ap.add_argument("--nam", action="store_true", help="also run NAM's trainer at the same budget")
    ap.add_argument("--together", action="store_true", help="run the two trainers side by side (one core each)")
    ap.add_argument("--work", default="/tmp/ampemu-fidelity")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("train_args", nargs="*", help="extra `ampemu train` arguments (after --)")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    results = {}
    devices = args.devices.replace("held-out", ",".join(HELD_OUT)).split(",")
    for device in devices:
        capture, test = pair(device, "clean180", work), pair(device, "muted30", work)
        run_dir = work / f"{device}-{int(time.time())}"
        started = time.strftime("%H:%M:%S")
        print(f"[{started}] {device}: training {args.minutes:g} min"
              + (" (ampemu and NAM side by side)" if args.nam and args.together else ""), flush=True)
        ours = lambda: ampemu("train", "--input", str(capture[0]), "--output", str(capture[1]), "--run-dir", str(run_dir),
                              "--max-time", str(args.minutes), "--seed", str(args.seed), *args.train_args)
        row = {}
        if args.nam and args.together:
            procs = ours(), nam_baseline(capture, test, args.minutes)
            finish(procs[0], "ampemu train")
            row["nam"] = json.loads(finish(procs[1], "nam-baseline").strip().splitlines()[-1])
        else:
            finish(ours(), "ampemu train")
            if args.nam:
                row["nam"] = json.loads(finish(nam_baseline(capture, test, args.minutes), "nam-baseline").strip().splitlines()[-1])
        row["ampemu"] = grade_ampemu(run_dir, test)
        results[device] = row
        print(f"  {device}: {json.dumps(row)}", flush=True)
    (work / "results.json").write_text(json.dumps({"minutes": args.minutes, "train_args": args.train_args,
                                                   "results": results}, indent=2) + "\n")
    print("\n| device | ampemu steps | ampemu ESR, other playing |" + (" NAM steps | NAM ESR, other playing |" if args.nam else ""))
    print("|---|---|---|" + ("---|---|" if args.nam else ""))
    for device, row in results.items():
        line = f"| {device} | {row['ampemu']['steps']} | {row['ampemu']['test_esr']:.4f} |"
        if "nam" in row:
            line += f" {row['nam']['steps']} | {row['nam']['test_esr']:.4f} |"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
