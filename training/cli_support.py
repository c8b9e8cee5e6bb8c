"""Helpers shared by the training subcommands; torch-free, because `ampemu --help` imports them."""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import zipfile
from pathlib import Path

from engine.errors import AmpemuError


def require_training_stack() -> None:
    """One clear line when torch/lightning are missing, instead of a traceback."""
    for name in ("torch", "lightning", "scipy", "matplotlib"):
        if importlib.util.find_spec(name) is None:
            raise AmpemuError(f"training needs '{name}': install the train extra with "
                              "`pip install torch==2.13.0` then `pip install -e '.[train]'`")


def add_capture_arguments(p, required: bool = True) -> None:
    p.add_argument("--input", required=required, help="the dry signal sent into the device (WAV)")
    p.add_argument("--output", required=required, help="the device's recorded output (WAV)")
    p.add_argument("--channel", type=int, default=None, help="channel of stereo files to use (0-based; default 0)")
    p.add_argument("--delay", type=int, default=None,
                   help="samples the output lags the input (default: where the device's response starts, from the "
                        "capture signal's clicks or a least-squares fit: engine/delay.py; 0 = none)")


def add_checkpoint_argument(p) -> None:
    p.add_argument("--checkpoint", required=True, help="a .ckpt from a run's checkpoints/ folder")


def load_checkpoint(path):
    from training.module import CaptureModule

    check_checkpoint_file(path)
    try:
        module = CaptureModule.load_from_checkpoint(path, map_location="cpu")
    except Exception as exc:  # torch raises many kinds for a foreign or truncated file
        raise AmpemuError(f"{path}: not an ampemu training checkpoint ({exc.__class__.__name__}: "
                          f"{str(exc).splitlines()[0][:100]})") from None
    return module.eval()


def positive_int(text: str) -> int:
    """argparse type: an integer of 1 or more."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: must be 1 or more")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number above 0."""
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text}: must be a finite number above 0")
    return value


def unit_interval(text: str) -> float:
    """argparse type: a number in 0..1 (1 excluded)."""
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"{text}: must be in 0..1 (1 excluded)")
    return value


def non_negative_float(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"{text}: must be a finite number, 0 or more")
    return value


def dilation_list(text: str) -> list[int]:
    """argparse type: comma-separated positive integers (1..65536)."""
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text}: give comma-separated integers, e.g. 1,2,4,8") from None
    if not all(1 <= v <= 1 << 16 for v in values):
        raise argparse.ArgumentTypeError(f"{text}: every dilation must be 1..65536")
    return values


def check_run_dir(path) -> None:
    """The run folder can be created or written: checked before anything is written into it."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise AmpemuError(f"{path}: exists and is not a folder; give a folder for the run (--run-dir)")
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise AmpemuError(f"{existing}: cannot write there (read-only or no permission); choose another --run-dir")


def check_checkpoint_file(path) -> None:
    """A training checkpoint is a torch zip archive: refuse anything else before torch unpickles it."""
    path = Path(path)
    if not path.is_file():
        raise AmpemuError(f"{path}: no such checkpoint file")
    if not zipfile.is_zipfile(path):
        raise AmpemuError(f"{path}: not an ampemu training checkpoint (not a torch archive); "
                          "give a .ckpt from a run's checkpoints/ folder")
