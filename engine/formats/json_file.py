"""Bounded reading of the files a user hands us: every problem is one line naming the file.

All model files (WaveNetVA `.json`, NAM `.nam`), preset banks and the current-preset state read
through `read_text_file`, so a FIFO, a device such as /dev/zero, a directory or a huge file is
refused before anything is read, and the JSON documents through `read_document`/`loads_document`,
so nesting and numbers stay within what a model can hold (no 5000-digit integer, no float that
overflows, no document nested thousands deep). Writing goes through engine/atomic.py.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path

import numpy as np

from engine.errors import AmpemuError

MAX_MODEL_BYTES = 64 * 2**20  # the largest NAM model (A2-Full) is about 2 MB of JSON
MAX_DEPTH = 64  # a .nam container nests about 10 levels; metadata rarely more than 3
MAX_INT_DIGITS = 18  # below 2**63: no field of a model needs more
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


class _NumberError(ValueError):
    pass


def read_text_file(path, what: str, max_bytes: int = MAX_MODEL_BYTES, fix: str = "") -> str:
    """The UTF-8 text of a regular file of at most `max_bytes`; anything else is one AmpemuError line.

    The file is opened without blocking and checked with fstat before a byte is read, so a FIFO,
    a device or a directory (or a link to one) is refused at once whatever its name."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise AmpemuError(f"{path}: no such {what}" + (f"; {fix}" if fix else "")) from None
    except IsADirectoryError:
        raise AmpemuError(f"{path}: is a folder, not a {what}") from None
    except OSError as exc:
        raise AmpemuError(f"{path}: cannot open the {what} ({exc.strerror or exc.__class__.__name__})") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise AmpemuError(f"{path}: is a folder, not a {what}")
        if not stat.S_ISREG(info.st_mode):
            raise AmpemuError(f"{path}: is not a regular file (a pipe, device or socket); give the {what} itself")
        if info.st_size > max_bytes:
            raise AmpemuError(f"{path}: {info.st_size / 2**20:.1f} MB is larger than any {what} "
                              f"({max_bytes / 2**20:g} MB at most); is it the right file?")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise AmpemuError(f"{path}: cannot read the {what} ({exc.strerror or exc.__class__.__name__})") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:  # grew while we looked
        raise AmpemuError(f"{path}: larger than any {what} ({max_bytes / 2**20:g} MB at most)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AmpemuError(f"{path}: not a text file (byte {exc.start} is not UTF-8); is it a {what}?") from None


def nesting_depth(text: str) -> int:
    """Deepest bracket nesting of a JSON text, strings left out (vectorised: fast on megabytes)."""
    bare = _STRING.sub(b"", text.encode("utf-8", "surrogatepass"))
    codes = np.frombuffer(bare, np.uint8)
    steps = np.zeros(codes.size, np.int32)
    steps[(codes == ord("[")) | (codes == ord("{"))] = 1
    steps[(codes == ord("]")) | (codes == ord("}"))] = -1
    return int(np.cumsum(steps).max(initial=0))


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _NumberError(f"the integer {text[:12]}... has {len(text)} digits")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NumberError(f"the number {text[:24]} is beyond float range")
    return value


def loads_document(text: str, path, fix: str = "re-export or re-download the model"):
    """Decode JSON text with depth and number limits; every problem is one AmpemuError line."""
    if nesting_depth(text) > MAX_DEPTH:
        raise AmpemuError(f"{path}: JSON nested deeper than {MAX_DEPTH} levels; not a model file")
    try:
        return json.loads(text, parse_int=_parse_int, parse_float=_parse_float)
    except _NumberError as exc:
        raise AmpemuError(f"{path}: {exc}; no model holds such a number: {fix}") from None
    except json.JSONDecodeError as exc:
        raise AmpemuError(f"{path}: invalid or truncated JSON at line {exc.lineno} column {exc.colno}; {fix}") from None
    except RecursionError:  # unreachable after the depth check; kept as a last guard
        raise AmpemuError(f"{path}: JSON nested too deep; not a model file") from None


def read_document(path: Path):
    """The decoded JSON in model file `path`; missing, unreadable, oversized, invalid or truncated
    files are an AmpemuError."""
    return loads_document(read_text_file(path, "model file"), path)
