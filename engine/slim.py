"""`--slim`: the size 0..1 of a slimmable NAM model (a container's submodel, a slimmable WaveNet's
channel count), parsed and validated here for every command and for preset banks.

0 is the smallest size, 1 the largest; no size (None) plays the file's default (NAM: the last, the
largest). "auto" (only where a host plays: `ampemu run`, presets) times each size at load and plays
the largest that fits the period (engine/slim_auto.py).
"""

from __future__ import annotations

import argparse
import math

from engine.errors import AmpemuError

RANGE = (0.0, 1.0)
AUTO = "auto"


def check_slim(size: float | None) -> float | None:
    """A size given in code (load_model(slim=...)): None or a finite number in 0..1."""
    if size is not None and (isinstance(size, bool) or not isinstance(size, (int, float))
                             or not (math.isfinite(size) and RANGE[0] <= size <= RANGE[1])):
        raise AmpemuError(f"--slim {size}: the size must be in 0..1 (0 = smallest submodel, 1 = the largest)")
    return size


def _size(text: str, allow_auto: bool) -> float | str:
    if text == AUTO:
        if allow_auto:
            return AUTO
        raise argparse.ArgumentTypeError("auto chooses a size for playing (ampemu run); give a size in 0..1 here")
    try:
        return check_slim(float(text))
    except (ValueError, AmpemuError):
        raise argparse.ArgumentTypeError(f"{text}: give a size in 0..1 (0 = smallest, 1 = the largest)"
                                         + (" or auto" if allow_auto else "")) from None


def slim_size(text: str) -> float | str:
    """argparse type where "auto" is allowed (a size in 0..1 or "auto")."""
    return _size(text, allow_auto=True)


def add_slim_argument(parser, *, auto: bool = False, repeatable: bool = False, help: str) -> None:
    """The one --slim option: `auto` allows "auto" (and makes it the default); `repeatable` collects a list."""
    parser.add_argument("--slim", type=lambda text: _size(text, auto), metavar="V|auto" if auto else "V",
                        action="append" if repeatable else "store", default=AUTO if auto else None, help=help)
