"""The registry of model families: the one place that answers "which family is this?".

Each family declares once its name (one spelling, used in reports and by training's architectures),
its file format (suffix and reader), how it plays (a numba kernel behind engine.kernels.dispatch, or
onnxruntime), its kernel id (layout[0]), its --slim sizes, and the `ampemu export --format` that
writes it. Cost (multiply-adds and activations per sample) is counted by each parsed model itself
(`macs_per_sample`, `activations_per_sample`); what playing it needs (history, prewarm, state, cost)
the family says, and `Family.load` checks it against the limits of a pedal before any state is
allocated, for every family in this one place. Loading, `info`, `bench`, presets, `--slim auto`,
`process` and training's export all ask this registry.

Adding a family: one module that builds its StreamingModel and calls `register(Family(...))`, and
its name in REGISTRATIONS (imported on first lookup). A numba kernel also needs its branch in
engine/kernels/dispatch.py (compiled code cannot consult a Python registry; a test checks each
registered kernel id is dispatched).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple

from engine.errors import AmpemuError

# modules whose import registers families (the built-ins: engine.models registers the numba ones)
REGISTRATIONS = ("engine.models", "engine.onnx_backend")

# What a pedal can ever play; checked before any state is allocated, so a small hostile file cannot
# ask for gigabytes or minutes. Real captures sit far below: NAM standard has a 0.17 s receptive field,
# about 1 MB of state and 13,801 multiply-adds per sample.
MAX_HISTORY_S = 10.0  # receptive field or prewarm
MAX_STATE_BYTES = 64 * 2**20
MAX_MACS_PER_SAMPLE = 200_000  # about 10 G multiply-adds per second at 48 kHz: beyond a core in real time
MAX_PREWARM_MACS = 10**10  # prewarm samples x multiply-adds per sample: a few seconds on one core


class Needs(NamedTuple):
    """What playing a parsed model takes, known before its kernel allocates anything."""

    sample_rate: int
    receptive_field: int  # samples
    prewarm: int  # samples of zeros played after load and reset
    state_floats: int  # float32 history the kernel keeps
    macs: int  # multiply-adds per sample


class BeyondLimits(AmpemuError):
    """A model larger than any pedal plays (load_model prefixes the file's path)."""


def check_limits(needs: Needs) -> None:
    """Refuse a model whose history, state or cost is beyond what a pedal can ever play, saying which."""
    rate, receptive_field, prewarm, state_floats, macs = needs
    history = max(receptive_field, prewarm)
    fix = "not a playable capture (a damaged or hostile file?)"
    if history > MAX_HISTORY_S * rate:
        raise BeyondLimits(f"receptive field {history} samples ({history / rate:.1f} s) is beyond the "
                           f"{MAX_HISTORY_S:g} s a pedal can play; {fix}")
    if 4 * state_floats > MAX_STATE_BYTES:
        raise BeyondLimits(f"its state needs {4 * state_floats / 2**20:.0f} MB, more than the "
                           f"{MAX_STATE_BYTES // 2**20} MB a pedal holds per model; {fix}")
    if macs > MAX_MACS_PER_SAMPLE:
        raise BeyondLimits(f"{macs} multiply-adds per sample, more than a CPU core plays in real time "
                           f"({MAX_MACS_PER_SAMPLE} at most); {fix}")
    if prewarm * macs > MAX_PREWARM_MACS:
        raise BeyondLimits(f"its prewarm ({prewarm} samples x {macs} multiply-adds) would take minutes; {fix}")


@dataclass(frozen=True)
class Family:
    name: str  # "gated_wavenet", "nam_wavenet", ...: the one spelling
    label: str  # for people: "gated WaveNet"
    suffix: str  # its file format: ".json", ".nam", ".onnx"
    formats: str  # the file kinds, for messages: "WaveNetVA / PedalNetRT / ... .json"
    model_type: type  # what the suffix's reader returns for this family
    read: Callable[[Path], object]  # path -> parsed model (may be another family's of the same suffix)
    play: Callable[..., object]  # (parsed, fast, name, slim) -> StreamingModel
    backend: str = "numba"  # "numba" (a kernel; the live host plays it) or "onnxruntime"
    kernel: int | None = None  # layout[0] of its numba kernel; None: plays another family's kernel, or none
    sizes: Callable[[object], list[float]] | None = None  # --slim sizes of a model, largest first (None: never slimmable)
    slimmed: Callable[[object, float], object] | None = None  # the parsed model a size plays
    size_name: Callable[[object, float], str] | None = None  # what people call a size ("A2-Full", "8 channels")
    exporter: str | None = None  # `ampemu export --format` writing its native file (a trainable family)
    needs: Callable[[object], Needs] | None = None  # None: nothing to bound (plays another family's model, or onnxruntime)

    def load(self, model, fast: bool = False, name: str = "", slim: float | None = None):
        """`play`, after refusing (BeyondLimits) a model beyond what a pedal can play: every caller's way in."""
        if self.needs is not None:
            check_limits(self.needs(model))
        return self.play(model, fast, name, slim)


_FAMILIES: dict[str, Family] = {}


def register(family: Family) -> Family:
    if family.name in _FAMILIES:
        raise ValueError(f"model family {family.name} is registered twice")
    _FAMILIES[family.name] = family
    return family


def families() -> list[Family]:
    for module in REGISTRATIONS:
        importlib.import_module(module)
    return list(_FAMILIES.values())


def by_name(name: str) -> Family:
    found = {f.name: f for f in families()}
    if name not in found:
        raise AmpemuError(f"unknown model family '{name}'; known: {', '.join(found)}")
    return found[name]


def of_model(model) -> Family:
    """The family of a parsed model (what a reader returned)."""
    for family in families():
        if type(model) is family.model_type:
            return family
    raise AmpemuError(f"no model family plays a {type(model).__name__}")


def supported(backend: str | None = None) -> str:
    """The file formats, for messages: '.json (...), .nam (...)'."""
    kinds: dict[str, list[str]] = {}
    for f in families():
        if backend is None or f.backend == backend:
            kinds.setdefault(f.suffix, []).append(f.formats)
    return ", ".join(f"{suffix} ({', '.join(dict.fromkeys(names))})" for suffix, names in kinds.items())


def suffixes(backend: str | None = None) -> list[str]:
    return list(dict.fromkeys(f.suffix for f in families() if backend is None or f.backend == backend))


def slim_sizes(family: Family, model) -> list[float]:
    return family.sizes(model) if family.sizes else []


def size_name(family: Family, model, size: float) -> str:
    """A size of a slimmable model by name, with its number: 'A2-Full (size 0.5)'."""
    name = family.size_name(model, size) if family.size_name else None
    return f"{name} (size {size:g})" if name else f"size {size:g}"


def read(path) -> tuple[Family, object]:
    """Parse a model file with its suffix's reader: (its family, the parsed model)."""
    path = Path(path)
    readers = [f for f in families() if f.suffix == path.suffix.lower()]
    if not readers:
        raise AmpemuError(f"{path}: unknown model format '{path.suffix}'; supported: {supported()}")
    model = readers[0].read(path)
    return of_model(model), model
