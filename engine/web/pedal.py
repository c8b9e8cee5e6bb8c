"""What the web page reads and changes on the playing engine, through the control channel only.

Preset, bypass and mute are commands or control words the callback picks up at its next block
(docs/realtime.md); the knobs are a table of parameters, so a new stage of the signal chain appears
on the page by adding one row. Meters come from the callback's statistics and its scope ring
(raw input and output samples), read without ever making the callback wait.
"""

from __future__ import annotations

import math
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from engine.commands.doctor import THROTTLE_BITS
from engine.presets.bank import GAIN_RANGE_DB
from engine.realtime import channel as ch
from engine.web.tuner import detect

METER_WINDOW_S = 0.1  # the page's meters show the latest 100 ms (they are refreshed 10 times a second)
TUNER_WINDOW = 4096  # samples: two periods of a bass's low B at 48 kHz
HEALTH_EVERY_S = 5.0  # vcgencmd is a subprocess: ask it rarely
FLOOR_DB = -120.0


@dataclass
class Param:
    label: str
    low: float
    high: float
    step: float
    unit: str
    get: Callable[[], float]
    set: Callable[[float], None]

    def describe(self) -> dict:
        return {"label": self.label, "min": self.low, "max": self.high, "step": self.step, "unit": self.unit,
                "value": round(self.get(), 3)}


def _db(linear: float) -> float:
    return 20.0 * math.log10(linear) if linear > 0 else FLOOR_DB


def _chain_value(channel: ch.Channel, name: str, off: float) -> float:
    value = channel.chain_values(channel.selected)[name]
    return off if value is None else value  # None: a gate that is off


def chain_params(channel: ch.Channel) -> dict[str, Param]:
    """Every knob the engine has, in page order (the signal chain's stages add rows here)."""
    low, high = GAIN_RANGE_DB
    params = {
        "input_gain_db": Param("Input", low, high, 0.5, "dB", lambda: _db(channel.control[ch.INPUT_GAIN]),
                               channel.set_input_gain_db),
        "output_gain_db": Param("Output", low, high, 0.5, "dB", lambda: _db(channel.control[ch.OUTPUT_GAIN]),
                                channel.set_output_gain_db),
    }
    if all(getattr(m, "chain", None) is not None for m in channel.models):
        # the selected preset's chain (docs/chain.md); the gate's lowest setting, -100 dB, leaves it open
        for name, label, lo, hi, step, unit in (("gate_db", "Gate", -100.0, 0.0, 1.0, "dB"),
                                                 ("bass", "Bass", -12.0, 12.0, 0.5, "dB"),
                                                 ("mid", "Mid", -12.0, 12.0, 0.5, "dB"),
                                                 ("treble", "Treble", -12.0, 12.0, 0.5, "dB"),
                                                 ("highpass_hz", "High-pass", 0.0, 200.0, 5.0, "Hz")):
            params[name] = Param(label, lo, hi, step, unit,
                                 lambda name=name, lo=lo: _chain_value(channel, name, lo),
                                 lambda value, name=name: channel.set_chain(channel.selected, **{name: value}))
    return params


def level_db(x: np.ndarray) -> dict:
    if x.size == 0:
        return {"peak": FLOOR_DB, "rms": FLOOR_DB}
    x = x.astype(np.float64)
    return {"peak": round(max(_db(float(np.max(np.abs(x)))), FLOOR_DB), 1),
            "rms": round(max(_db(float(np.sqrt(np.mean(x * x)))), FLOOR_DB), 1)}


def cpu_temperature(root: Path = Path("/")) -> float | None:
    try:
        return int((root / "sys/class/thermal/thermal_zone0/temp").read_text()) / 1000.0
    except (OSError, ValueError):
        return None


def throttling() -> list[str] | None:
    """vcgencmd's throttling flags in words (empty: none), or None where there is no vcgencmd."""
    try:
        done = subprocess.run(["vcgencmd", "get_throttled"], capture_output=True, text=True, timeout=2)
        value = int(done.stdout.strip().split("=")[-1], 16)
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    return [text for bit, text in THROTTLE_BITS.items() if value & (1 << bit)]


class Pedal:
    """The engine as the web server sees it: a channel, the names of the loaded presets, the rate."""

    def __init__(self, channel: ch.Channel, names: list[str] | None, rate: int):
        self.channel, self.names, self.rate = channel, names or [], rate
        self.params = chain_params(channel)
        self._health, self._health_at = {"temp_c": None, "throttled": None}, -math.inf

    def select(self, index) -> None:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(self.names):
            raise ValueError(f"no preset {index!r}: presets are 0..{len(self.names) - 1}")
        self.channel.select_slot(index)

    def set_bypass(self, on: bool | None) -> None:
        """On, off, or (None) toggled in the callback's order, like the bypass footswitch."""
        if on is None:
            self.channel.post(ch.OP_BYPASS_TOGGLE)
        else:
            self.channel.set_bypass(bool(on))

    def set_params(self, values: dict) -> None:
        """All or nothing: every name must exist and every value be a finite number in range."""
        checked = {}
        for name, value in values.items():
            param = self.params.get(name)
            if param is None:
                raise ValueError(f"unknown parameter {name!r} (known: {', '.join(self.params)})")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or not param.low <= value <= param.high:
                raise ValueError(f"{name} must be a number in {param.low}..{param.high}, got {value!r}")
            checked[name] = float(value)
        for name, value in checked.items():
            self.params[name].set(value)

    @property
    def muted(self) -> bool:
        return bool(self.channel.control[ch.MUTE])

    def state(self) -> dict:
        return {"presets": [{"index": i, "name": name} for i, name in enumerate(self.names)],
                "current": self.channel.selected if self.names else None,
                "bypassed": self.channel.bypassed, "muted": self.muted, "rate": self.rate,
                "params": {name: p.describe() for name, p in self.params.items()}}

    def health(self) -> dict:
        """CPU temperature and throttling, refreshed every few seconds (call from a worker thread)."""
        if time.monotonic() - self._health_at >= HEALTH_EVERY_S:
            self._health = {"temp_c": cpu_temperature(), "throttled": throttling()}
            self._health_at = time.monotonic()
        return self._health


class Meters:
    """One page's live view: levels of the latest samples, DSP load and xruns since its last look."""

    def __init__(self, pedal: Pedal):
        self.pedal = pedal
        self.previous = pedal.channel.stats.copy()  # the counters only: the histogram is 400 kB to copy

    def read(self, tuner: bool = False) -> dict:
        channel, rate = self.pedal.channel, self.pedal.rate
        now = channel.stats.copy()
        blocks, busy_ns = now[ch.BLOCKS] - self.previous[ch.BLOCKS], now[ch.TIME_SUM_NS] - self.previous[ch.TIME_SUM_NS]
        self.previous = now
        period_ns = max(1, int(now[ch.LAST_NFRAMES])) / rate * 1e9
        x, y, _ = channel.read_scope(int(rate * METER_WINDOW_S))
        frame = {"in": level_db(x), "out": level_db(y),
                 "dsp": round(100.0 * busy_ns / blocks / period_ns, 1) if blocks > 0 else 0.0,
                 "xruns": int(now[ch.XRUNS]), "blocks": int(now[ch.BLOCKS]),
                 "current": channel.selected if self.pedal.names else None,
                 "bypassed": channel.bypassed, "muted": self.pedal.muted}
        if tuner:
            pitch = detect(channel.read_scope(TUNER_WINDOW)[0], rate)
            frame["tuner"] = None if pitch is None else {"hz": round(pitch.hz, 2), "note": pitch.note,
                                                         "cents": round(pitch.cents, 1)}
        return frame
