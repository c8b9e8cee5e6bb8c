"""Playing a preset bank live: everything loaded before the first block, slots reset off the callback.

Before going live every preset's model is loaded into its own slot (two presets with the same file
get two copies: each needs its own state), compiled, level-matched and reset, so a switch never loads
or compiles anything. A preset whose model is missing or broken gets no slot and is reported; the
rest of the bank plays (next/previous and Program Changes only know the loaded presets). While playing, the callback only fades into slots that are ready; when a fade
ends it releases the old slot, and the `Housekeeper` thread resets (and prewarms) released slots and
marks them ready again (docs/presets.md). The preset that plays is saved atomically when it changes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from engine.chain.chain import attach
from engine.chain.levels import calibration_db
from engine.errors import AmpemuError
from engine.models import load_model
from engine.presets.bank import Bank, Preset
from engine.presets.current import save_current
from engine.presets.loudness import loudness_db, matching_gain_db
from engine.realtime.channel import MAX_FADE, Channel
from engine.slim_auto import load_for_playing
from engine.streaming import StreamingModel

HOUSEKEEPING_INTERVAL_S = 0.002  # a switch back to a just-released slot waits at most about this long


@dataclass
class LoadedBank:
    bank: Bank
    presets: list[Preset]  # the presets that play: slot i plays presets[i]
    models: list[StreamingModel]
    output_db: list[float]  # slot i's own output gain: level adjust or level matching, plus the preset's trim
    broken: list[str] = field(default_factory=list)  # "name: why" of each preset whose model did not load
    input_db: list[float] = field(default_factory=list)  # slot i's own input gain: the preset's drive plus the interface calibration

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.presets]


def load_presets(bank: Bank, fast: bool = False, say=print, host_settings=lambda: (128, 48000)) -> LoadedBank:
    """Load, compile, measure and reset every preset's model (one line per preset via `say`);
    a preset's slim "auto" is timed at the (period, rate) `host_settings()` returns."""
    presets, models, output_db, input_db, measured, broken = [], [], [], [], {}, []
    for number, preset in enumerate(bank.presets, 1):
        try:
            model = attach(load_for_playing(preset.model, preset.slim, host_settings, fast=fast, say=say),
                           preset.chain)
        except AmpemuError as exc:  # one bad file must not silence the whole pedal
            broken.append(f"{preset.name}: {exc}")
            say(f"preset {number}/{len(bank.presets)} {preset.name}: BROKEN, skipped (next/previous pass over it, "
                f"its Program Change is ignored): {exc}")
            continue
        if bank.level_match:
            sound = (preset.model, repr(preset.chain))  # the IR and the tone stack change the level too
            if sound not in measured:  # the same capture and chain play equally loud in every preset
                measured[sound] = loudness_db(model)
            level = matching_gain_db(measured[sound], bank.target_loudness_db)
            note = f"plays at {measured[sound]:.1f} dBFS, level match {level:+.1f} dB"
        else:
            level, note = model.output_gain_db, f"level adjust {model.output_gain_db:+.1f} dB"
        # a .nam capture's recorded levels against the interface's (the output only without level matching)
        gain_in, gain_out, calibrated = calibration_db(model.metadata, bank.interface_input_dbu,
                                                       None if bank.level_match else bank.interface_output_dbu)
        note = ", ".join([note] + calibrated)
        level += gain_out
        input_db.append(preset.input_gain_db + gain_in)
        say(f"preset {number}/{len(bank.presets)} {preset.name}: {model.description}; {model.chain.describe()}, {note}")
        presets.append(preset)
        models.append(model)
        output_db.append(level + preset.output_gain_db)
    if not models:
        raise AmpemuError(f"{bank.path}: no preset's model loads ({'; '.join(broken)})")
    # presets captured at another rate than the server's play resampled (the host attaches the resamplers)
    return LoadedBank(bank, presets, models, output_db, broken, input_db)


def compile_ahead(bank: Bank, playing: frozenset, compile_callbacks, say=print) -> frozenset:
    """Before a restart onto `bank` (the page saved an upload): compile, on the calling thread while the
    current bank plays, what loading and playing it will need that `playing` (the kernel ids playing
    now) did not: its models' kernels (loading a model compiles them) and the host's callbacks
    (`compile_callbacks(ids)`). The restarted engine then loads them from numba's cache instead of
    sitting silent through a compile. Returns the bank's kernel ids; a model that does not load is
    left for the restart to report."""
    needed = set()
    for preset in bank.presets:
        try:
            needed.add(int(load_model(preset.model).layout[0]))
        except AmpemuError:
            continue
    if needed and not needed <= playing:
        say("compiling for the saved bank's models first; the current preset keeps playing")
        compile_callbacks(frozenset(needed))
    return frozenset(needed)


def configure(channel: Channel, loaded: LoadedBank, rate: int, start: int) -> None:
    """Gains, crossfade, MIDI map and the first preset, written before the callback runs."""
    bank = loaded.bank
    for slot in range(len(loaded.presets)):
        channel.set_slot_gains(slot, loaded.input_db[slot], loaded.output_db[slot])
    channel.set_crossfade(min(MAX_FADE, max(1, round(bank.crossfade_ms * rate / 1000))), bank.crossfade_curve)
    programs = {p.program: slot for slot, p in enumerate(loaded.presets) if p.program is not None}
    channel.set_midi_map(bank.midi_channel, bank.cc, programs)
    channel.start_on(start)


class Housekeeper:
    """Resets the slots the callback released, on its own Python thread (never in the callback)."""

    def __init__(self, channel: Channel, interval: float = HOUSEKEEPING_INTERVAL_S):
        self.channel, self.interval = channel, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ampemu-housekeeping", daemon=True)

    def start(self) -> "Housekeeper":
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.channel.reset_released_slots()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


class CurrentPreset:
    """Saves the selected preset's name when it changes (called from the main loop, never the callback)."""

    def __init__(self, channel: Channel, names: list[str], path: Path | None = None):
        self.channel, self.names, self.path = channel, names, path
        self.saved = channel.selected

    def poll(self) -> str | None:
        """The new preset's name if it changed since the last call (and was saved), else None."""
        slot = self.channel.selected
        if slot == self.saved:
            return None
        save_current(self.names[slot], self.path)
        self.saved = slot
        return self.names[slot]
