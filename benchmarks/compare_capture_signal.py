"""Does a model trained on the capture signal play other music as well as one trained on a real DI take?

For each guitarix device (rendered offline with `lv2apply`, the same plugins and settings as the
shared datasets, ../shared/README.md): train once on the capture signal through the device and once
on the shared 180 s clean DI capture of that device, at equal length (180 s), equal training time
(--minutes) or equal work (--steps: the same number of steps of the same model is the same time on an
idle machine, whatever load a shared one is under) and threads, then grade both on the device's `*-muted30` take (another performance on another
instrument, in no training file): ESR of `ampemu process` over the whole take.

    .venv/bin/python benchmarks/compare_capture_signal.py [--devices ts9,fuzzface,ds1] [--minutes 3 | --steps N] [--threads 1]

Needs `lv2apply` and the plugins (Debian: apt-get install guitarix-lv2 lilv-utils), the train extra
and ../shared/datasets. Writes WORK/results.json and prints a table (docs/capture.md has the figures).
A CLI script, not a pytest module: each device trains twice. A run already in WORK is graded, not
trained again.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.audio_io import write_wav  # noqa: E402
from engine.capture.signal import capture_signal  # noqa: E402
from guitarix import SHARED_DEVICES as DEVICES, render  # noqa: E402

DATASETS = REPO.parent / "shared" / "datasets"
SECONDS = 180.0


def pair(folder: Path) -> tuple[Path, Path]:
    ext = ".wav" if (folder / "input.wav").exists() else ".flac"
    return folder / f"input{ext}", folder / f"output{ext}"


def ampemu(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "engine.cli", *args], cwd=REPO, check=True)


def esr(prediction: Path, target: Path) -> float:
    y, _ = sf.read(str(prediction), dtype="float64")
    t, _ = sf.read(str(target), dtype="float64")
    n = min(y.size, t.size)
    return float(np.sum((y[:n] - t[:n]) ** 2) / np.sum(t[:n] ** 2))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--devices", default=",".join(DEVICES), help=f"comma-separated, of {', '.join(DEVICES)}")
    p.add_argument("--minutes", type=float, default=3.0, help="training time per model (default 3)")
    p.add_argument("--steps", type=int, default=None,
                   help="train for this many steps instead of --minutes: equal work whatever the machine's load "
                        "(for screening signal designs on a shared machine)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--work", type=Path, default=REPO / "runs" / "capture-compare")
    args = p.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results = []
    for name in args.devices.split(","):
        plugin, rate, controls, clean, muted = DEVICES[name]
        folder = args.work / name
        folder.mkdir(exist_ok=True)
        signal_in, signal_out = folder / "signal_input.wav", folder / "signal_output.wav"
        if not signal_out.exists():
            write_wav(signal_in, capture_signal(SECONDS, rate), rate)
            # the signal opens with 5 s of silence: guitarix's start-up parameter ramps settle there
            render(plugin, controls, signal_in, signal_out)
        graded_in, graded_out = pair(DATASETS / muted)
        for trained_on, (x, y) in (("capture signal", (signal_in, signal_out)), ("clean DI take", pair(DATASETS / clean))):
            run = folder / trained_on.split()[0]
            if not (run / "model.nam").exists():
                # both devices have zero latency (../shared/README.md): no alignment for either pair
                budget = ["--max-steps", str(args.steps)] if args.steps else ["--max-time", str(args.minutes)]
                ampemu("train", "--input", str(x), "--output", str(y), "--run-dir", str(run), "--delay", "0",
                       *budget, "--threads", str(args.threads))
            prediction = run / "other_playing.wav"
            # the model alone: --highpass 0 (the chain's default high-pass is not the device)
            ampemu("process", "--model", str(run / "model.nam"), "--highpass", "0", str(graded_in), str(prediction))
            summary = json.loads((run / "summary.json").read_text())
            results.append({"device": name, "trained_on": trained_on, "steps": summary["steps"],
                            "seconds": summary["seconds"], "threads": args.threads,
                            "best_val_esr": summary["best_val_esr"], "other_playing_esr": esr(prediction, graded_out)})
            print(f"{name:9s} {trained_on:15s} {summary['steps']:4d} steps in {summary['seconds']:4.0f} s, "
                  f"validation ESR {100 * summary['best_val_esr']:5.2f} %, "
                  f"other-playing ESR {100 * results[-1]['other_playing_esr']:.2f} %", flush=True)
    (args.work / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
