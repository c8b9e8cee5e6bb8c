"""Helpers shared by the training subcommands; torch-free, because `ampemu --help` imports them."""

from __future__ import annotations

import importlib.util

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
                   help="samples the output lags the input (default: estimated by cross-correlation; 0 = none)")


def add_checkpoint_argument(p) -> None:
    p.add_argument("--checkpoint", required=True, help="a .ckpt from a run's checkpoints/ folder")


def load_checkpoint(path):
    from pathlib import Path

    from training.module import CaptureModule

    if not Path(path).exists():
        raise AmpemuError(f"{path}: no such checkpoint")
    try:
        module = CaptureModule.load_from_checkpoint(path, map_location="cpu")
    except Exception as exc:  # torch raises many kinds for a foreign or truncated file
        raise AmpemuError(f"{path}: not an ampemu training checkpoint ({exc.__class__.__name__}: "
                          f"{str(exc).splitlines()[0][:100]})") from None
    return module.eval()
