"""Alignment without clicks on real devices: where engine/delay.py finds each capture's response to
start, as recorded (all zero latency but the two guitarix pedals that oversample) and behind a
480-sample round trip (a re-amp rig at 48 kHz); and, for the guitarix devices, where the plugin's
answer to a click starts and peaks (the truth the estimate is held to; needs lv2apply).

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

from guitarix import HELD_OUT, SHARED_DEVICES, held_out_pair, render

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.delay import SEARCH_SECONDS, estimate_delay  # noqa: E402

DATASETS = REPO.parent / "shared" / "datasets"
CAPTURES = ("ts9", "fuzzface", "ds1", "jcm800")  # ../shared/datasets
ROUND_TRIP = 480
CLICK_LEVEL = 0.01  # quiet enough that a fuzz answers it almost linearly


def click_answer(device: str, work: Path) -> tuple[int, int]:
    """(first sample over a thousandth of the peak, peak) of the plugin's answer to one click."""
    if device in HELD_OUT:
        (plugin, controls), rate = HELD_OUT[device], 48000
    else:
        plugin, rate, controls = SHARED_DEVICES[device][:3]
    folder = work / "clicks"
    folder.mkdir(parents=True, exist_ok=True)
    source, answer = folder / f"click-{rate}.wav", folder / f"{device}.wav"
    at = rate  # guitarix's parameter ramps settle in the first second
    if not source.exists():
        click = np.zeros(2 * rate)
        click[at] = CLICK_LEVEL
        sf.write(source, click, rate, subtype="FLOAT")
    if not answer.exists():
        render(plugin, controls, source, answer)
    y, _ = sf.read(answer, dtype="float64", always_2d=True)
    heard = np.abs(y[at:at + rate // 10, 0] - np.median(y[at - rate // 10:at, 0]))  # less a bias's offset
    return int(np.argmax(heard > 1e-3 * heard.max())), int(np.argmax(heard))


def pair(device: str, work: Path) -> tuple[Path, Path]:
    if device in HELD_OUT:
        return held_out_pair(device, "clean180", DATASETS, work)
    folder = next(DATASETS.glob(f"{device}-clean180*"))
    return next(folder.glob("input.*")), next(folder.glob("output.*"))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--devices", default=",".join(CAPTURES + tuple(HELD_OUT)))
    p.add_argument("--work", type=Path, default=Path("/tmp/ampemu-fidelity"), help="where the renders are kept")
    args = p.parse_args()
    print("| device | click answer starts, peaks | correlation peak | response starts | removed | clear | "
          f"+{ROUND_TRIP}: starts | +{ROUND_TRIP}: removed |\n|---|---|---|---|---|---|---|---|")
    for device in args.devices.split(","):
        source, target = pair(device, args.work)
        x, rate = sf.read(source, dtype="float64", frames=int(SEARCH_SECONDS * 48000))
        y, _ = sf.read(target, dtype="float64", frames=x.size, always_2d=True)
        y = y[:, 0]
        found = estimate_delay(x, y, rate)
        late = estimate_delay(x, np.concatenate([np.zeros(ROUND_TRIP), y])[:y.size], rate)
        click = "%d, %d" % click_answer(device, args.work) if device in HELD_OUT or device in SHARED_DEVICES else "-"
        print(f"| {device} | {click} | {found.peak} | {found.lag} | {found.remove} | {found.onset_sigmas:.0f}x "
              f"{'' if found.sure and late.sure else '(unsure)'}| {late.lag} | {late.remove} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
