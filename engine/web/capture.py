"""The phone page's capture: `ampemu capture --out` run from a worker thread of the engine process.

The pedal's output feeds the amp, and a capture's send usually shares the interface with it: the
engine is muted for the whole job (JACK would mix its sound into the signal the device hears) and its
mute restored afterwards, whatever happened. One job at a time; each good take goes to a new folder
under `root` (the bank's `captures/`), written by engine/capture/take.py as the command writes it.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path

from engine.capture import calibration, take
from engine.capture.signal import DEFAULT_LEVEL_DB, DEFAULT_SECONDS, check_level, layout
from engine.errors import AmpemuError
from engine.web.pedal import Pedal


class Busy(Exception):
    """A capture is already running."""


def _number(body: dict, key: str, default: float) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{key} must be a number, got {value!r}")
    return float(value)


def _port(body: dict, key: str) -> str | None:
    value = body.get(key)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ValueError(f"{key} must be a JACK port name such as system:playback_1")
    return value.strip() if value else None


class CaptureJob:
    def __init__(self, pedal: Pedal, root: Path):
        self.pedal, self.root = pedal, root
        self._lock = threading.Lock()
        self._status: dict = {"state": "idle"}

    def status(self) -> dict:
        with self._lock:
            return dict(self._status)

    @property
    def running(self) -> bool:
        return self.status()["state"] == "running"

    def start(self, body: dict) -> dict:
        """Check the request and start the take's thread; ValueError for a bad value, Busy while one runs."""
        seconds = _number(body, "seconds", DEFAULT_SECONDS)
        level = _number(body, "level_dbfs", DEFAULT_LEVEL_DB)
        send, ret = _port(body, "send"), _port(body, "return")
        if (send is None) != (ret is None):
            raise ValueError("name both ports (send and return) or neither (the rig calibrated last)")
        try:
            layout(seconds, 48000)
            check_level(level)
        except AmpemuError as exc:
            raise ValueError(str(exc).replace("--seconds", "seconds").replace("--level", "level_dbfs")) from None
        with self._lock:
            if self._status["state"] == "running":
                raise Busy("a capture is already running: wait for it to finish")
            self._status = {"state": "running", "progress": 0.0, "seconds": seconds, "level_dbfs": level}
        threading.Thread(target=self._run, args=(seconds, level, send, ret), name="ampemu-capture",
                         daemon=True).start()
        return self.status()

    def _update(self, **values) -> None:
        with self._lock:
            self._status.update(values)

    def _run(self, seconds: float, level: float, send: str | None, ret: str | None) -> None:
        from engine.capture import recorder

        channel = self.pedal.channel
        was_muted = self.pedal.muted
        channel.set_mute(True)
        try:
            with recorder.DuplexRecorder() as rec:
                send, ret = self._ports(rec, send, ret)
                plan = take.plan(rec, send, ret, seconds, level)
                self._update(send=send, **{"return": ret})
                result = take.record(rec, plan, lambda done, _: self._update(progress=round(done / plan.frames, 3)))
            if result.report.problems:
                raise take.refusal(result)
            folder = take.new_folder(self.root)
            take.write(folder, result)
            self._update(state="done", progress=1.0, folder=str(folder), levels=result.report.levels,
                         latency_frames=plan.latency, latency_ms=round(1000 * plan.latency / plan.rate, 3),
                         report="ok")
        except AmpemuError as exc:
            self._update(state="failed", error=str(exc))
        except Exception as exc:  # noqa: BLE001 - the page shows it; the engine keeps playing
            self._update(state="failed", error=f"capture failed: {type(exc).__name__}: {exc}")
        finally:
            channel.set_mute(was_muted)

    @staticmethod
    def _ports(rec, send: str | None, ret: str | None) -> tuple[str, str]:
        rate, period = rec.sample_rate, rec.period
        if send is None:
            rig = calibration.latest(rate, period)
            if rig is None:
                raise AmpemuError(f"the rig is not calibrated at {rate} Hz, period {period}: connect a cable from "
                                  "the send to the return and run `ampemu capture --calibrate --send PORT --return "
                                  "PORT` once")
            return rig.send, rig.ret
        if calibration.find(send, ret, rate, period) is None:
            raise AmpemuError(f"the rig {send} -> {ret} is not calibrated at {rate} Hz, period {period}: connect a "
                              f"cable from {send} to {ret} and run `ampemu capture --calibrate --send {send} "
                              f"--return {ret}` once")
        return send, ret
