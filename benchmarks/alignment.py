"""Alignment without clicks on real devices: where engine/delay.py finds each capture's response to
start, as recorded (all zero latency but the two guitarix pedals that oversample) and behind a
480-sample round trip (a re-amp rig at 48 kHz).

    .venv/bin/python benchmarks/alignment.py              # the table in docs/training.md (about a minute)

Reads the first 30 s (SEARCH_SECONDS) of the shared captures and of the held-out guitarix renders
(benchmarks/guitarix.py; rendered once into --work, as benchmarks/fidelity.py does).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from guitarix import HELD_OUT, held_out_pair

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.delay import SEARCH_SECONDS, estimate_delay  # noqa: E402

DATASETS = REPO.parent / "shared" / "datasets"
SHARED_DEVICES = ("ts9", "fuzzface", "ds1", "jcm800")
ROUND_TRIP = 480


def pair(device: str, work: Path) -> tuple[Path, Path]:
    if device in HELD_OUT:
        return held_out_pair(device, "clean180", DATASETS, work)
    folder = next(DATASETS.glob(f"{device}-clean180*"))
    return next(folder.glob("input.*")), next(folder.glob("output.*"))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--devices", default=",".join(SHARED_DEVICES + tuple(HELD_OUT)))
    p.add_argument("--work", type=Path, default=Path("/tmp/ampemu-fidelity"), help="where the renders are kept")
    args = p.parse_args()
    print("| device | correlation peak | response starts | removed | clear | "
          f"+{ROUND_TRIP}: starts | +{ROUND_TRIP}: removed |\n|---|---|---|---|---|---|---|")
    for device in args.devices.split(","):
        source, target = pair(device, args.work)
        x, rate = sf.read(source, dtype="float64", frames=int(SEARCH_SECONDS * 48000))
        y, _ = sf.read(target, dtype="float64", frames=x.size, always_2d=True)
        y = y[:, 0]
        found = estimate_delay(x, y, rate)
        late = estimate_delay(x, np.concatenate([np.zeros(ROUND_TRIP), y])[:y.size], rate)
        print(f"| {device} | {found.peak} | {found.lag} | {found.remove} | {found.onset_sigmas:.0f}x "
              f"{'' if found.sure and late.sure else '(unsure)'}| {late.lag} | {late.remove} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
