"""The preset bank: one human-edited TOML file (see examples/presets.toml for every key).

`load_bank` validates everything and reports all problems at once, one line each, so a guitarist
fixes the file in one go. Model paths are resolved against the bank file's folder; whether each
model file loads is checked when playing (a broken one is skipped, presets/live.py) and by
`ampemu presets check`.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from engine import families
from engine.chain.settings import PARAMETERS as CHAIN_PARAMETERS, ChainSettings
from engine.errors import AmpemuError
from engine.formats.json_file import MAX_DEPTH, read_text_file
from engine.realtime.channel import MAX_SLOTS
from engine.slim import RANGE as SLIM_RANGE

ACTIONS = ("next", "previous", "bypass")
CC_ACTIONS = ("next", "previous", "bypass", "input_gain", "output_gain", "select", "gate", "bass", "mid", "treble")
CURVES = ("equal-power", "equal-gain")
GAIN_RANGE_DB = (-40.0, 24.0)
GLOBAL_KEYS = {"midi_channel", "crossfade_ms", "crossfade_curve", "level_match", "target_loudness_db",
               "interface_input_dbu", "interface_output_dbu", "midi", "footswitch", "preset"}
DBU_RANGE = (-20.0, 40.0)
CHAIN_KEYS = {"ir", "ir_normalize", "gate_db", "gate_release_ms", "gate_hold_ms", "gate_hysteresis_db", "bass", "mid",
              "treble", "highpass_hz"}
PRESET_KEYS = {"name", "model", "input_gain_db", "output_gain_db", "program", "slim"} | CHAIN_KEYS
FOOTSWITCH_KEYS = {"pin", "press", "long_press", "long_press_ms"}
MAX_BANK_BYTES = 1 << 20  # a 32-preset bank is a few KB


@dataclass
class Preset:
    name: str
    model: Path
    input_gain_db: float = 0.0
    output_gain_db: float = 0.0
    program: int | None = None  # MIDI Program Change number 0..127
    slim: float | str = "auto"  # size 0..1 of a slimmable NAM model, or "auto" (largest that fits)
    chain: ChainSettings = field(default_factory=ChainSettings)  # gate, tone stack, IR, high-pass


@dataclass
class Footswitch:
    pin: int  # BCM GPIO number; the switch connects the pin to ground (internal pull-up)
    press: str
    long_press: str | None = None
    long_press_ms: int = 600


@dataclass
class Bank:
    path: Path
    presets: list[Preset]
    midi_channel: int | None = None  # 1..16, None = omni
    crossfade_ms: float = 30.0
    crossfade_curve: str = "equal-gain"
    level_match: bool = True
    target_loudness_db: float = -18.0  # RMS dBFS of each model's output on the standard guitar input
    cc: dict[str, int] = field(default_factory=dict)  # action -> controller number
    footswitches: list[Footswitch] = field(default_factory=list)
    interface_input_dbu: float | None = None  # the interface's level at 0 dBFS: calibrates .nam captures
    interface_output_dbu: float | None = None

    def index_of_program(self, program: int) -> int | None:
        return next((i for i, p in enumerate(self.presets) if p.program == program), None)


def default_bank_path() -> Path:
    """--presets FILE wins; else the user's config folder; else /etc/ampemu/presets.toml."""
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "ampemu" / "presets.toml"
    return config if config.exists() else Path("/etc/ampemu/presets.toml")


class _Problems:
    def __init__(self, path: Path):
        self.path, self.lines = path, []

    def add(self, where: str, what: str) -> None:
        self.lines.append(f"{self.path}: {where}: {what}")


def _number(problems, where, key, value, low, high, integer=False):
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind) \
            or not ((isinstance(value, int) or math.isfinite(value)) and low <= value <= high):
        problems.add(where, f"'{key}' must be {'an integer' if integer else 'a number'} in {low}..{high}, got {value!r}")
        return None
    return value


def _unknown_keys(problems, where, table, allowed):
    for key in sorted(set(table) - allowed):
        problems.add(where, f"unknown key '{key}' (allowed: {', '.join(sorted(allowed))})")


def _parse_chain(problems, where, entry, folder) -> ChainSettings:
    """The preset's chain keys (each checked against engine.chain.settings' ranges)."""
    chain = ChainSettings()
    ir = entry.get("ir")
    if ir is not None:
        if not isinstance(ir, str) or not ir:
            problems.add(where, f"'ir' must be a WAV file name, got {ir!r}")
        else:
            chain.ir = (folder / ir).resolve() if not os.path.isabs(ir) else Path(ir)
            if not chain.ir.exists():
                problems.add(where, f"impulse response {chain.ir} not found")
    normalize = entry.get("ir_normalize", False)
    if not isinstance(normalize, bool):
        problems.add(where, f"'ir_normalize' must be true or false, got {normalize!r}")
    chain.ir_normalize = normalize is True
    for key in sorted(CHAIN_KEYS - {"ir", "ir_normalize"}):
        if key not in entry:
            continue
        value = entry[key]
        if key == "gate_db" and value == "off":
            value = None
        _, low, high, _ = CHAIN_PARAMETERS[key]
        if value is None or _number(problems, where, key, value, low, high) is not None:
            setattr(chain, key, None if value is None else float(value))
    return chain


def _parse_presets(problems, doc, folder) -> list[Preset]:
    presets, programs, names = [], {}, set()
    entries = doc.get("preset", [])
    if not isinstance(entries, list) or not entries:
        problems.add("bank", "no [[preset]] entries; add at least one")
        return []
    if len(entries) > MAX_SLOTS:
        problems.add("bank", f"{len(entries)} presets; the engine holds at most {MAX_SLOTS}: split the bank")
        return []
    for number, entry in enumerate(entries, 1):
        where = f"preset {number}"
        if not isinstance(entry, dict):
            problems.add(where, "must be a [[preset]] table")
            continue
        _unknown_keys(problems, where, entry, PRESET_KEYS)
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.add(where, "needs a 'name'")
            name = f"#{number}"
        where = f"preset {number} ('{name}')"
        if name in names:
            problems.add(where, "another preset has the same name; give each preset its own")
        names.add(name)
        model = entry.get("model")
        if not isinstance(model, str) or not model:
            problems.add(where, f"needs a 'model' file ({' or '.join(families.suffixes('numba'))})")
            continue
        model_path = (folder / model).resolve() if not os.path.isabs(model) else Path(model)
        if model_path.suffix.lower() not in families.suffixes("numba"):
            problems.add(where, f"model {model} is not a {' or '.join(families.suffixes('numba'))} file")
        # a missing or broken model file is not the bank's fault: that preset is skipped when playing
        gains = [_number(problems, where, key, entry.get(key, 0.0), *GAIN_RANGE_DB)
                 for key in ("input_gain_db", "output_gain_db")]
        program = entry.get("program")
        if program is not None:
            program = _number(problems, where, "program", program, 0, 127, integer=True)
            if program is not None and program in programs:
                problems.add(where, f"program {program} is already used by preset '{programs[program]}'")
            elif program is not None:
                programs[program] = name
        slim = entry.get("slim", "auto")
        if slim != "auto":
            slim = _number(problems, where, "slim", slim, *SLIM_RANGE)
        presets.append(Preset(name, model_path, gains[0] or 0.0, gains[1] or 0.0, program,
                              "auto" if slim is None else slim, _parse_chain(problems, where, entry, folder)))
    return presets


def _parse_midi(problems, doc) -> tuple[int | None, dict[str, int]]:
    channel = doc.get("midi_channel", "omni")
    if channel == "omni":
        channel = None
    else:
        channel = _number(problems, "midi_channel", "midi_channel", channel, 1, 16, integer=True)
    midi = doc.get("midi", {})
    cc_table = midi.get("cc", {}) if isinstance(midi, dict) else {}
    if not isinstance(midi, dict) or not isinstance(cc_table, dict):
        problems.add("midi", "[midi] and [midi.cc] must be tables")
        return channel, {}
    _unknown_keys(problems, "midi", midi, {"cc"})
    _unknown_keys(problems, "midi.cc", cc_table, set(CC_ACTIONS))
    cc, used = {}, {}
    for action, number in cc_table.items():
        if action not in CC_ACTIONS:
            continue
        value = _number(problems, "midi.cc", action, number, 0, 127, integer=True)
        if value is None:
            continue
        if value in used:
            problems.add("midi.cc", f"controller {value} is mapped to both '{used[value]}' and '{action}'")
        used[value] = action
        cc[action] = value
    return channel, cc


def _parse_footswitches(problems, doc) -> list[Footswitch]:
    switches, pins = [], set()
    entries = doc.get("footswitch", [])
    if not isinstance(entries, list):
        problems.add("footswitch", "must be [[footswitch]] tables")
        return []
    for number, entry in enumerate(entries, 1):
        where = f"footswitch {number}"
        if not isinstance(entry, dict):
            problems.add(where, "must be a [[footswitch]] table")
            continue
        _unknown_keys(problems, where, entry, FOOTSWITCH_KEYS)
        pin = _number(problems, where, "pin", entry.get("pin"), 0, 27, integer=True)
        if pin is not None and pin in pins:
            problems.add(where, f"GPIO {pin} is used by two footswitches")
        pins.add(pin)
        press, long_press = entry.get("press"), entry.get("long_press")
        for key, action in (("press", press), ("long_press", long_press)):
            if (key == "press" or action is not None) and action not in ACTIONS:
                problems.add(where, f"'{key}' must be one of {', '.join(ACTIONS)}, got {action!r}")
        hold = _number(problems, where, "long_press_ms", entry.get("long_press_ms", 600), 200, 5000, integer=True)
        if pin is not None:
            switches.append(Footswitch(pin, press, long_press, hold or 600))
    return switches


def parse_bank(doc: dict, path: Path) -> Bank:
    problems = _Problems(path)
    _unknown_keys(problems, "bank", doc, GLOBAL_KEYS)
    presets = _parse_presets(problems, doc, path.parent)
    channel, cc = _parse_midi(problems, doc)
    switches = _parse_footswitches(problems, doc)
    fade = _number(problems, "crossfade_ms", "crossfade_ms", doc.get("crossfade_ms", 30.0), 1.0, 500.0)
    curve = doc.get("crossfade_curve", "equal-gain")
    if curve not in CURVES:
        problems.add("crossfade_curve", f"must be one of {', '.join(CURVES)}, got {curve!r}")
    level_match = doc.get("level_match", True)
    if not isinstance(level_match, bool):
        problems.add("level_match", f"must be true or false, got {level_match!r}")
    target = _number(problems, "target_loudness_db", "target_loudness_db", doc.get("target_loudness_db", -18.0),
                     -60.0, 0.0)
    dbu = [_number(problems, key, key, doc[key], *DBU_RANGE) if key in doc else None
           for key in ("interface_input_dbu", "interface_output_dbu")]
    if problems.lines:
        raise BankError(problems.lines)
    return Bank(path, presets, channel, fade, curve, level_match, target, cc, switches, *dbu)


class BankError(AmpemuError):
    """Every problem of a bank file, one line each."""

    def __init__(self, lines: list[str]):
        super().__init__(lines[0] if len(lines) == 1 else f"{len(lines)} problems:\n" + "\n".join(lines))
        self.lines = lines


def _depth(value) -> int:
    """Nesting depth of a decoded TOML document (iterative: no recursion on hostile input)."""
    deepest, todo = 0, [(value, 0)]
    while todo:
        item, depth = todo.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            todo += [(v, depth + 1) for v in item.values()]
        elif isinstance(item, list):
            todo += [(v, depth + 1) for v in item]
    return deepest


def _toml_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) and text.lstrip("+-") not in ("inf", "nan"):
        raise ValueError(f"the number {text[:24]} is beyond float range")
    return value


def load_bank(path) -> Bank:
    path = Path(path)
    try:
        text = read_text_file(path, "preset bank", MAX_BANK_BYTES, fix="copy examples/presets.toml and edit it")
    except AmpemuError as exc:
        raise BankError([str(exc)]) from None
    try:
        doc = tomllib.loads(text, parse_float=_toml_float)
    except tomllib.TOMLDecodeError as exc:
        raise BankError([f"{path}: not valid TOML ({exc})"]) from None
    except (RecursionError, ValueError) as exc:  # nesting thousands deep, an integer of thousands of digits
        problem = "nested too deep" if isinstance(exc, RecursionError) else str(exc).splitlines()[0][:80]
        raise BankError([f"{path}: not a preset bank ({problem}); see examples/presets.toml"]) from None
    if _depth(doc) > MAX_DEPTH:
        raise BankError([f"{path}: nested deeper than {MAX_DEPTH} levels; not a preset bank "
                         "(see examples/presets.toml)"])
    return parse_bank(doc, path)
