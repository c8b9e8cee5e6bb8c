"""Helpers for the preset-switching tests: a bank file of shipped seed models and the offline
reference of a switch, computed from the documented semantics only (not from the engine's code):
the old model keeps running, the new one starts from its reset state at the switch frame, frame k of
a fade of L frames is at p = (k+1)/L, equal-gain mixes old*(1-p) + new*p, equal-power
old*cos(p pi/2) + new*sin(p pi/2); gains are float32 multipliers before and after each model."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np

from support.data import data_file

from engine.chain.chain import attach
from engine.models import load_model
from engine.render import render

SEEDS = ("Klon-Centaur", "Marshall-JMP-Plexi-1968", "Fender-Tweed-Deluxe")


def seed(name: str):
    return data_file("models", "seed-profiles", f"{name}.json")


def write_bank(folder: Path, presets, **settings) -> Path:
    """presets: [(name, seed name, input dB, output dB, program or None)]; settings: global keys."""
    lines = [f"{key} = {value!r}".replace("'", '"').replace("True", "true").replace("False", "false")
             for key, value in settings.items() if key != "cc"]
    if "cc" in settings:
        lines.append("[midi.cc]")
        lines += [f"{action} = {number}" for action, number in settings["cc"].items()]
    for name, model, gain_in, gain_out, program in presets:
        lines += ["[[preset]]", f'name = "{name}"', f'model = "{seed(model)}"', f"input_gain_db = {gain_in}",
                  f"output_gain_db = {gain_out}"] + ([f"program = {program}"] if program is not None else [])
    path = folder / "bank.toml"
    path.write_text(textwrap.dedent("\n".join(lines)) + "\n")
    return path


def curve(frames: int, kind: str):
    p = np.arange(1, frames + 1) / frames
    if kind == "equal-gain":
        return (1 - p).astype(np.float32), p.astype(np.float32)
    return (np.array([math.cos(v * math.pi / 2) for v in p], np.float32),
            np.array([math.sin(v * math.pi / 2) for v in p], np.float32))


def slot_model(model_path, chain=None):
    """A fresh copy of the model, with `chain` (engine.chain.settings.ChainSettings) attached when given:
    a bank's preset plays with its chain (by default the 20 Hz high-pass)."""
    model = load_model(model_path)
    return model if chain is None else attach(model, chain)


def played(model_path, x: np.ndarray, gain_in: float, gain_out: float, chain=None) -> np.ndarray:
    """A fresh copy of the model (and chain), from reset, on x: what one slot plays with its linear gains."""
    return render(slot_model(model_path, chain), x * np.float32(gain_in), block=64) * np.float32(gain_out)


def switch_reference(x, switch_at, old, new, fade_frames, kind, chain=None):
    """Offline output for input x with a switch at frame `switch_at`; old/new: (model path or None for
    dry, linear input gain, linear output gain); every model plays with `chain`. The old source ran
    from frame 0 of x."""
    def source(spec, signal):
        return signal.copy() if spec[0] is None else played(spec[0], signal, spec[1], spec[2], chain)

    a = source(old, x)
    b = source(new, x[switch_at:])
    out = a.copy()
    g_old, g_new = curve(fade_frames, kind)
    end = min(x.size, switch_at + fade_frames)
    span = end - switch_at
    out[switch_at:end] = a[switch_at:end] * g_old[:span] + b[:span] * g_new[:span]
    out[end:] = b[span:]
    return out


def max_step(y: np.ndarray) -> float:
    """The click detector: largest sample-to-sample jump."""
    return float(np.max(np.abs(np.diff(y.astype(np.float64)))))


def stream(channel, x: np.ndarray, on_block=None, block: int = 64) -> np.ndarray:
    """Play `x` through a live channel's compiled block function, `block` frames at a time (mono in
    and out), calling `on_block(index)` before each block: the callback's path without JACK."""
    from engine.realtime.block import for_families

    interleaved_block = for_families(channel.families).interleaved_block
    out = np.empty(x.size, np.float32)
    for index, start in enumerate(range(0, x.size, block)):
        if on_block:
            on_block(index)
        piece = x[start:start + block]
        interleaved_block(channel.descriptor, piece.reshape(-1, 1).copy(), out[start:start + piece.size].reshape(-1, 1))
    return out
