"""One capture take, shared by `ampemu capture --out` and the phone page: plan it (the rig's calibrated
latency, the signal), record it through an open `DuplexRecorder`, check it, and write the take's
three files.

`plan` raises the one-line "not calibrated" error before anything is played; `record` returns the
checks' report and leaves refusing a take with problems to the caller (the command prints the levels
first); `write` never runs for a refused take, so nothing is written then.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from engine.atomic import write_atomically
from engine.audio_io import write_wav
from engine.capture import calibration
from engine.capture.checks import TakeReport, check_take
from engine.capture.signal import SEED, SIGNAL_VERSION, capture_signal, click_slot, layout
from engine.errors import AmpemuError

TAKE_FILES = ("input.wav", "output.wav", "capture.json")
RING_OUT_S = 0.5  # recorded after the signal's end: the device's tail (the signal ends in silence anyway)


@dataclass
class Plan:
    send: str
    ret: str
    seconds: float
    level: float
    rate: int
    period: int
    latency: int
    source: str  # where the latency came from: "--latency" or "calibrated DATE"
    rig: calibration.RigCalibration | None
    signal: np.ndarray

    @property
    def frames(self) -> int:
        return self.signal.size + self.latency + int(RING_OUT_S * self.rate)

    def describe(self) -> str:
        return (f"capturing {self.seconds:g} s at {self.rate} Hz (period {self.period}): {self.send} -> device -> "
                f"{self.ret}, round trip {self.latency} frames ({self.source}), signal peak {self.level:g} dBFS")


@dataclass
class Result:
    plan: Plan
    returned: np.ndarray  # the device's output, aligned with plan.signal
    report: TakeReport
    doc: dict  # capture.json


def not_calibrated(send: str, ret: str, rate: int, period: int) -> AmpemuError:
    return AmpemuError(f"no calibration for {send} -> {ret} at {rate} Hz, period {period}: connect a cable from "
                       f"that output to that input and run `ampemu capture --calibrate --send {send} --return {ret}` "
                       "first (or give --latency FRAMES)")


def plan(recorder, send: str, ret: str, seconds: float, level: float, latency: int | None = None) -> Plan:
    rate, period = recorder.sample_rate, recorder.period
    rig = calibration.find(send, ret, rate, period)
    if latency is not None:
        source = "--latency"
    elif rig is None:
        raise not_calibrated(send, ret, rate, period)
    else:
        latency, source = rig.latency, f"calibrated {rig.date}"
    return Plan(send, ret, seconds, level, rate, period, latency, source, rig if source != "--latency" else None,
                capture_signal(seconds, rate, level))


def record(recorder, plan: Plan, on_progress=None) -> Result:
    """Play and record (on_progress(done, recorded) about ten times a second), then check the take."""
    p = plan
    take = recorder.take(p.signal, p.frames, p.send, p.ret, on_progress)
    returned = take.recorded[p.latency:p.latency + p.signal.size]
    sections, clicks = layout(p.seconds, p.rate)
    silence = sections[0]
    report = check_take(p.signal, returned, p.rate, clicks, int(click_slot(p.seconds) * p.rate) // 3,
                        slice(silence.start, silence.start + silence.length), take.xruns_at, take.skipped_cycles,
                        take.skipped_frames, take.first_skip_at)
    found = [lag for lag in report.click_lags if lag is not None]
    doc = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "sample_rate": p.rate, "seconds": p.seconds,
        "rig": {"send": p.send, "return": p.ret, "period": p.period, "latency_frames": p.latency,
                "latency_ms": round(1000 * p.latency / p.rate, 3), "latency_source": p.source,
                "loop_gain_db": p.rig.gain_db if p.rig else None},
        "levels": report.levels,
        "signal": {"version": SIGNAL_VERSION, "seed": SEED, "level_dbfs": p.level, "click_frames": clicks},
        # the device's own answer to each click (frames after it): its latency plus its filters' delay
        "click_lags": report.click_lags,
        "device_delay_frames": int(np.median(found)) if found else None,
        "xruns": len(take.xruns_at),
    }
    return Result(p, returned, report, doc)


def refusal(result: Result) -> AmpemuError:
    return AmpemuError("take refused, nothing written: " + "; ".join(result.report.problems))


def write(folder: Path, result: Result) -> list[Path]:
    # capture.json last (and an old one out of the way first): a take interrupted while being replaced
    # has no capture.json claiming it is whole
    (folder / "capture.json").unlink(missing_ok=True)
    write_wav(folder / "input.wav", result.plan.signal, result.plan.rate)
    write_wav(folder / "output.wav", result.returned, result.plan.rate)
    write_atomically(folder / "capture.json", json.dumps(result.doc, indent=1) + "\n")
    return [folder / name for name in TAKE_FILES]


def new_folder(root: Path) -> Path:
    """A folder under `root` named after the time that did not exist before (never an old take's)."""
    stamp = datetime.now().strftime("%Y-%m-%d-%H%M%S")
    try:
        root.mkdir(parents=True, exist_ok=True)
        for n in range(1, 1000):
            folder = root / (stamp if n == 1 else f"{stamp}-{n}")
            try:
                folder.mkdir()
                return folder
            except FileExistsError:
                continue
    except OSError as exc:
        raise AmpemuError(f"{root}: cannot create a take folder there ({exc.strerror})") from None
    raise AmpemuError(f"{root}: 999 takes named {stamp} already; try again in a second")
