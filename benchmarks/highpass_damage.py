"""What the chain's default high-pass does to a device's sound: ESR of the filtered against the unfiltered
target of each shared device's other-playing take (../shared/datasets/*-muted30_*), for candidate
defaults; with --model DEVICE=FILE also the ESR against the target of that model's output (rendered
once with `--highpass 0`, then filtered: the high-pass is the chain's last, linear stage).

Run: .venv/bin/python benchmarks/highpass_damage.py [--model fuzzface=../shared/models/nam-a2/fuzzface_a2.nam]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import scipy.signal
import soundfile as sf

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO.parent / "shared" / "datasets"
CANDIDATES = [(2, 30.0), (2, 20.0), (1, 20.0), (2, 10.0), (1, 10.0), (1, 5.0)]  # (order, Hz): Butterworth


def esr(prediction: np.ndarray, target: np.ndarray) -> float:
    return float(np.sum((prediction - target) ** 2) / np.sum(target ** 2))


def filtered(x: np.ndarray, order: int, hz: float, rate: int) -> np.ndarray:
    b, a = scipy.signal.butter(order, hz, "highpass", fs=rate)
    return scipy.signal.lfilter(b, a, x)


def bare_render(model: str, take: Path) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.wav"
        subprocess.run([sys.executable, "-m", "engine.cli", "process", "--model", model, "--highpass", "0",
                        str(next(take.glob("input.*"))), str(out)], cwd=REPO, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        return sf.read(out, dtype="float64")[0]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", action="append", default=[], metavar="DEVICE=FILE")
    args = p.parse_args()
    models = dict(spec.split("=", 1) for spec in args.model)
    header = " | ".join(f"{order}{'st' if order == 1 else 'nd'} order {hz:g} Hz" for order, hz in CANDIDATES)
    print(f"| take | what | {header} |\n|---|---|" + "---:|" * len(CANDIDATES))
    for take in sorted(DATASETS.glob("*-muted30_*")):
        target, rate = sf.read(next(take.glob("output.*")), dtype="float64")
        cells = [f"{esr(filtered(target, order, hz, rate), target):.4f}" for order, hz in CANDIDATES]
        print(f"| {take.name} | filter alone | " + " | ".join(cells) + " |")
        device = take.name.split("-")[0]
        if device in models:
            bare = bare_render(models[device], take)
            cells = [f"{esr(filtered(bare, order, hz, rate), target):.4f}" for order, hz in CANDIDATES]
            print(f"| {take.name} | {Path(models[device]).name} (bare: {esr(bare, target):.4f}) | "
                  + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
