"""The registry of model families: the one place that answers "which family is this?".

Each family declares once its name (one spelling, used in reports and by training's architectures),
its file format (suffix and reader), how it plays (a numba kernel behind engine.kernels.dispatch, or
onnxruntime), its kernel id (layout[0]), its --slim sizes, and the `ampemu export --format` that
writes it. Cost (multiply-adds and activations per sample) is counted by each parsed model itself
(`macs_per_sample`, `activations_per_sample`). Loading, `info`, `bench`, presets, `--slim auto`,
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
from typing import Callable

from engine.errors import AmpemuError

# modules whose import registers families (the built-ins: engine.models registers the numba ones)
REGISTRATIONS = ("engine.models", "engine.onnx_backend")


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
    exporter: str | None = None  # `ampemu export --format` writing its native file (a trainable family)


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


def read(path) -> tuple[Family, object]:
    """Parse a model file with its suffix's reader: (its family, the parsed model)."""
    path = Path(path)
    readers = [f for f in families() if f.suffix == path.suffix.lower()]
    if not readers:
        raise AmpemuError(f"{path}: unknown model format '{path.suffix}'; supported: {supported()}")
    model = readers[0].read(path)
    return of_model(model), model
