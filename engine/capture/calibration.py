"""The rig's calibration: round-trip latency and gain from the send port back to the return port.

With a plain cable from the interface's output to its input (or the interface's own loopback), the
capture client plays clicks and a 1 kHz tone and finds them in what comes back: the latency to the
sample (cross-correlation of the clicks, every click must agree) and the loop's gain (tone RMS in /
out). Calibrations are kept per send port, return port, sample rate and period in
`capture-rigs.json` in the user's config folder (`$XDG_CONFIG_HOME/ampemu`, else
`~/.config/ampemu`); `/etc/ampemu/capture-rigs.json` is read as well (a pedal's system-wide one).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from engine.atomic import write_atomically
from engine.errors import AmpemuError
from engine.delay import MAX_LATENCY_S, click_train, find_delay

RIGS_FILE = "capture-rigs.json"
SYSTEM_DIR = Path("/etc/ampemu")
CLICKS = 4
CLICK_LEVEL = 0.5
TONE_HZ, TONE_DB, TONE_S = 1000.0, -12.0, 0.5
MIN_MATCH = 0.5  # a cable returns the clicks nearly as sent (> 0.9); much less is not a plain loop


def user_config_dir() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "ampemu"


@dataclass
class RigCalibration:
    send: str
    ret: str
    sample_rate: int
    period: int
    latency: int  # frames from a sample played on `send` to its return on `ret`
    gain_db: float  # the loop's gain at 1 kHz
    noise_floor_db: float  # RMS dBFS of the return with nothing playing
    match: float  # normalised cross-correlation of the clicks (1: a perfect copy)
    date: str

    @property
    def latency_ms(self) -> float:
        return 1000.0 * self.latency / self.sample_rate

    def same_rig(self, send: str, ret: str, rate: int, period: int) -> bool:
        return (self.send, self.ret, self.sample_rate, self.period) == (send, ret, rate, period)


def _db(value: float) -> float:
    return round(20.0 * np.log10(max(value, 1e-12)), 2)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def calibration_signal(rate: int, period: int) -> tuple[np.ndarray, int, int, slice]:
    """Clicks, then a tone: (signal, lead frames, click spacing, the tone's span)."""
    max_lag = int(MAX_LATENCY_S * rate)
    spacing = max(max_lag + period, int(0.1 * rate))  # one click in flight at a time
    lead = max(4 * period, int(0.1 * rate))  # silence first: the return's noise floor
    clicks = click_train(CLICKS, spacing, lead, CLICK_LEVEL)
    n = int(TONE_S * rate)
    tone = 10 ** (TONE_DB / 20) * np.sin(2 * np.pi * TONE_HZ * np.arange(n) / rate)
    fade = int(0.01 * rate)
    tone[:fade] *= np.linspace(0, 1, fade)
    tone[n - fade:] *= np.linspace(1, 0, fade)
    return np.concatenate([clicks, tone.astype(np.float32)]), lead, spacing, slice(clicks.size, clicks.size + n)


def measure(recorder, send: str, ret: str, on_progress=None) -> RigCalibration:
    """Play the calibration signal through the loop send -> ret and measure it (recorder: a DuplexRecorder)."""
    rate, period = recorder.sample_rate, recorder.period
    signal, lead, spacing, tone = calibration_signal(rate, period)
    max_lag = int(MAX_LATENCY_S * rate)
    take = recorder.take(signal, signal.size + max_lag, send, ret, on_progress)
    received = take.recorded
    if np.abs(received).max() < 1e-4:
        raise AmpemuError(f"nothing came back on {ret}: connect a cable from the output that {send} feeds to the "
                          f"input {ret} reads (or turn up the interface's input gain), then calibrate again")
    if take.xruns_at or take.skipped_cycles:
        raise AmpemuError(f"JACK lost audio during the calibration ({len(take.xruns_at)} xruns, "
                          f"{take.skipped_cycles} skipped cycles); calibrate again (a larger period helps)")
    clicks = signal[:tone.start]
    latency, match = find_delay(clicks, received[:tone.start + max_lag], max_lag)
    per_click = [find_delay(clicks[start:start + spacing], received[start:start + spacing + max_lag], max_lag)[0]
                 for start in range(lead, tone.start, spacing)]
    if len(set(per_click)) > 1:
        raise AmpemuError(f"the clicks came back at different delays ({', '.join(map(str, per_click))} frames): "
                          "the loop dropped or repeated audio; calibrate again (a larger period helps)")
    if match < MIN_MATCH:
        raise AmpemuError(f"what came back on {ret} does not look like the clicks sent (match {match:.2f}); "
                          "calibrate with a plain cable from the output to the input, no device in between")
    sent_tone = signal[tone]
    back_tone = received[tone.start + latency:tone.stop + latency]
    return RigCalibration(send, ret, rate, period, int(latency), _db(_rms(back_tone) / _rms(sent_tone)),
                          _db(_rms(received[:lead])), round(float(match), 4),
                          datetime.now(timezone.utc).isoformat(timespec="seconds"))


def _read(path: Path) -> list[RigCalibration]:
    if not path.is_file():
        return []
    try:
        return [RigCalibration(**entry) for entry in json.loads(path.read_text(encoding="utf-8"))["rigs"]]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise AmpemuError(f"{path}: not a readable rig calibration file ({type(exc).__name__}); delete it and "
                          "calibrate again (ampemu capture --calibrate)") from None


def save(calibration: RigCalibration) -> Path:
    """Keep `calibration` in the user's rig file, replacing the one of the same rig (written atomically)."""
    folder = user_config_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AmpemuError(f"{folder}: cannot create the config folder ({exc.strerror}); set XDG_CONFIG_HOME "
                          "to a writable folder") from None
    path = folder / RIGS_FILE
    c = calibration
    rigs = [r for r in _read(path) if not r.same_rig(c.send, c.ret, c.sample_rate, c.period)] + [c]
    try:
        write_atomically(path, json.dumps({"rigs": [asdict(r) for r in rigs]}, indent=1) + "\n")
    except OSError as exc:
        raise AmpemuError(f"{path}: cannot write the rig calibration ({exc.strerror})") from None
    return path


def find(send: str, ret: str, rate: int, period: int) -> RigCalibration | None:
    """The calibration of this rig at these JACK settings: the user's first, then the system's."""
    for folder in (user_config_dir(), SYSTEM_DIR):
        for rig in _read(folder / RIGS_FILE):
            if rig.same_rig(send, ret, rate, period):
                return rig
    return None


def latest(rate: int, period: int) -> RigCalibration | None:
    """The rig calibrated last at these JACK settings (the user's first, then the system's): the
    phone page's default when it names no ports."""
    for folder in (user_config_dir(), SYSTEM_DIR):
        rigs = [rig for rig in _read(folder / RIGS_FILE) if (rig.sample_rate, rig.period) == (rate, period)]
        if rigs:
            return rigs[-1]  # save() appends the newest
    return None
