"""What a user sets for the chain (preset keys, command-line flags, the control channel) and its limits.

One table of names, ranges and defaults serves the bank parser, the CLI and `Channel.set_chain`, so
a value a web page may send is checked the same way as one in a preset file.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import AmpemuError
from engine.kernels import chain as kernel

# name -> (parameter index, low, high, default); the gate threshold also takes None (off)
PARAMETERS = {
    "gate_db": (kernel.P_GATE_DB, -100.0, 0.0, None),
    "gate_release_ms": (kernel.P_GATE_RELEASE_MS, 1.0, 2000.0, 50.0),
    "gate_hold_ms": (kernel.P_GATE_HOLD_MS, 0.0, 1000.0, 10.0),
    "gate_hysteresis_db": (kernel.P_GATE_HYSTERESIS_DB, 0.0, 20.0, 0.0),
    "bass": (kernel.P_BASS, -20.0, 20.0, 0.0),
    "mid": (kernel.P_MID, -20.0, 20.0, 0.0),
    "treble": (kernel.P_TREBLE, -20.0, 20.0, 0.0),
    "highpass_hz": (kernel.P_HIGHPASS_HZ, 0.0, 400.0, 20.0),  # 0: off
}
def chain_parameter(name: str, value) -> tuple[int, float]:
    """(index, float value the kernel reads) for a named parameter; ValueError with the allowed range."""
    if name not in PARAMETERS:
        raise ValueError(f"unknown chain parameter '{name}' (known: {', '.join(PARAMETERS)})")
    index, low, high, _ = PARAMETERS[name]
    if value is None and name == "gate_db":
        return index, kernel.GATE_OFF
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and low <= value <= high):
        off = " or off" if name == "gate_db" else ""
        raise ValueError(f"'{name}' must be a number in {low:g}..{high:g}{off}, got {value!r}")
    return index, float(value)


def parameters_by_name(vector: np.ndarray) -> dict[str, float | None]:
    values = {name: float(vector[index]) for name, (index, *_rest) in PARAMETERS.items()}
    if values["gate_db"] <= kernel.GATE_OFF:
        values["gate_db"] = None
    return values


@dataclass
class ChainSettings:
    """A preset's (or the command line's) chain. The defaults: no IR, no gate, flat tone, a 20 Hz high-pass."""

    ir: Path | None = None
    ir_normalize: bool = False
    gate_db: float | None = None
    gate_release_ms: float = 50.0
    gate_hold_ms: float = 10.0
    gate_hysteresis_db: float = 0.0
    bass: float = 0.0
    mid: float = 0.0
    treble: float = 0.0
    highpass_hz: float = 20.0

    def __post_init__(self):
        if self.ir is not None:
            self.ir = Path(self.ir)

    def vector(self) -> np.ndarray:
        """The float64 parameter vector the kernel reads (checked: ValueError names the bad value)."""
        out = np.zeros(kernel.N_PARAMS, np.float64)
        for name in PARAMETERS:
            index, number = chain_parameter(name, getattr(self, name))
            out[index] = number
        return out


# --- command line ---------------------------------------------------------------------------------

def add_arguments(p: argparse.ArgumentParser) -> None:
    """The chain's flags, shared by process, run and bench."""
    g = p.add_argument_group("signal chain (around the model)")
    g.add_argument("--ir", metavar="FILE", help="cabinet impulse response (WAV, up to 1 s; resampled to the model's rate)")
    g.add_argument("--ir-normalize", action="store_true", help="scale the IR to unit energy (default: as recorded)")
    g.add_argument("--gate", metavar="DB", default=None,
                   help="noise gate threshold in dB (-100..0), triggered by the input, applied after the model "
                        "(default: off)")
    g.add_argument("--gate-release", metavar="MS", type=float, default=50.0, help="gate release in ms (default 50)")
    g.add_argument("--gate-hold", metavar="MS", type=float, default=10.0,
                   help="time the input stays under the threshold before the gate starts closing (default 10 ms)")
    g.add_argument("--gate-hysteresis", metavar="DB", type=float, default=0.0,
                   help="the gate holds open until the input falls this far under the threshold (default 0 dB)")
    g.add_argument("--eq", metavar="BASS,MID,TREBLE", default=None,
                   help="tone stack gains in dB, e.g. 2,-3,1 (150 Hz shelf, 425 Hz peak, 1.8 kHz shelf)")
    g.add_argument("--highpass", metavar="HZ", type=float, default=20.0,
                   help="first-order high-pass after the IR, in Hz (default 20: keeps DC out; 0: off)")


def from_args(args) -> ChainSettings:
    """ChainSettings from the flags; AmpemuError (one line) for a malformed value."""
    gate = None
    if args.gate is not None and str(args.gate).lower() != "off":
        try:
            gate = float(args.gate)
        except ValueError:
            raise AmpemuError(f"--gate {args.gate}: give the threshold in dB (-100..0) or off") from None
    bass = mid = treble = 0.0
    if args.eq is not None:
        try:
            bass, mid, treble = (float(v) for v in args.eq.split(","))
        except ValueError:
            raise AmpemuError(f"--eq {args.eq}: give three gains in dB, bass,mid,treble, e.g. 2,-3,1") from None
    settings = ChainSettings(Path(args.ir) if args.ir else None, args.ir_normalize, gate, args.gate_release,
                             args.gate_hold, args.gate_hysteresis, bass=bass, mid=mid, treble=treble,
                             highpass_hz=args.highpass)
    flags = {"gate_db": "--gate", "gate_release_ms": "--gate-release", "gate_hold_ms": "--gate-hold",
             "gate_hysteresis_db": "--gate-hysteresis", "bass": "--eq", "mid": "--eq", "treble": "--eq",
             "highpass_hz": "--highpass"}
    try:
        settings.vector()
    except ValueError as exc:
        name = str(exc).split("'")[1]
        raise AmpemuError(f"{flags.get(name, name)}: {exc}") from None
    return settings
