"""The shared-memory channel between Python threads and the real-time callback.

The callback takes no locks and calls no Python, so everything it exchanges with the rest of the
program lives in preallocated numpy arrays that both sides index by the names below. Each word has
one writer: Python writes `control`, `commands` (under a Python lock: several threads post), the
`midi_map` and the fade tables; the callback writes `stats`, `histogram`, the MIDI and scope rings and `voice`
(the xrun counter is written by JACK's notification thread, never by the callback). 8-byte aligned
loads and stores are atomic on x86-64 and arm64, so a reader sees either the old or the new value;
where one value announces others (a command, a reset slot) the writer fences before announcing.

Gains are read once per block. Switching (which slot plays, bypass) is a small state machine the
callback owns in `voice`: Python posts commands, MIDI events act at their frame, and crossfades run
inside the callback (docs/presets.md has the protocol).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import threading

from engine.kernels.chain import N_PARAMS as CHAIN_PARAMS
from engine.kernels.chain import cc_eq_db, cc_gate_db
from engine.kernels.dispatch import of_models
from engine.realtime.native import address, load_acquire, publish
from engine.streaming import StreamingModel

# --- control: float64, written by Python, read by the callback at each block start ---------------
INPUT_GAIN = 0  # linear gain before the model (the user's level; each slot's own input gain multiplies it)
OUTPUT_GAIN = 1  # linear gain after the model (user level; the slot's own gain multiplies it)
MUTE = 4  # nonzero: outputs are silent (and switching pauses)
FADE_FRAMES = 5  # crossfade length in frames (0: instant); set before activation with the fade tables
SLOT_GAIN = 8  # SLOT_GAIN + i: slot i's own linear output gain (level adjust or level matching, preset trim)
MAX_SLOTS = 32
SLOT_INPUT_GAIN = SLOT_GAIN + MAX_SLOTS  # + i: slot i's own linear input gain (the preset's drive)
CC_GAIN = SLOT_INPUT_GAIN + MAX_SLOTS  # + v: linear gain a MIDI gain controller at value v (0..127) sets
CC_GAIN_RANGE_DB = (-24.0, 12.0)  # value 0 -> -24 dB, value 127 -> +12 dB
SLOT_CHAIN = CC_GAIN + 128  # + CHAIN_PARAMS * i + P_*: slot i's chain parameters (engine/kernels/chain.py)
CC_GATE_DB = SLOT_CHAIN + CHAIN_PARAMS * MAX_SLOTS  # + v: gate threshold a MIDI controller at value v sets
CC_EQ_DB = CC_GATE_DB + 128  # + v: bass / mid / treble gain (dB) a MIDI controller at value v sets
CONTROL_SIZE = CC_EQ_DB + 128

# --- commands: int64, written by Python threads (one lock), read by the callback at block start -----
COMMAND_COUNT = 0  # commands posted (monotonic; ring index = value % COMMAND_RING)
SLOT_RESETS = 8  # + i: how many times Python has reset slot i (ready when equal to voice RELEASED + i)
COMMAND_RING_AT = SLOT_RESETS + MAX_SLOTS
COMMAND_RING = 64
COMMANDS_SIZE = COMMAND_RING_AT + COMMAND_RING
# a command word is (op << 32) | argument
OP_SELECT, OP_NEXT, OP_PREVIOUS, OP_BYPASS_TOGGLE, OP_BYPASS_SET = 1, 2, 3, 4, 5

# --- midi_map: int64, written by Python before activation, read by the callback ------------------------
MIDI_CHANNEL = 0  # 0: omni, 1..16: only this channel
CC_NEXT, CC_PREVIOUS, CC_BYPASS, CC_INPUT_GAIN, CC_OUTPUT_GAIN, CC_SELECT = 1, 2, 3, 4, 5, 6  # controller or -1
CC_GATE, CC_BASS = 7, 8  # controllers of the gate threshold and of bass, mid (+1), treble (+2), or -1
PROGRAM_SLOT = 16  # + program: slot a Program Change selects, or -1
MIDI_MAP_SIZE = PROGRAM_SLOT + 128

# --- voice: int64, written by the callback (Python initialises it before activation, then reads) -----
CURRENT = 0  # source that plays (the fade's target while fading): a slot, or DRY
FADING_FROM = 1  # source fading out, NONE when no fade runs
FADE_POS = 2  # frames of the running fade already played
FADE_LEN = 3  # length of the running fade in frames
SELECTED = 4  # preset slot chosen last (what plays unless bypassed; what is saved)
BYPASSED = 5  # 1: the target is the dry input
COMMANDS_READ = 6  # commands consumed
CC_IN = 7  # last value of the input-gain controller, -1: none yet (gain 1)
CC_OUT = 8  # same for the output gain
BLOCK_EVENTS = 9  # short MIDI messages of the current block (the JACK callback fills them)
CC_GATE_VALUE = 10  # last value of the gate controller, -1: none yet (each slot's own threshold)
CC_BASS_VALUE = 11  # + band (0 bass, 1 mid, 2 treble): last value of that controller, -1: none yet
RELEASED = 16  # + i: times slot i stopped playing (its state is stale until Python resets it)
EVENTS_AT = RELEASED + MAX_SLOTS  # + k: k-th event of the block: offset << 24 | status << 16 | data1 << 8 | data2
MAX_BLOCK_EVENTS = 256
VOICE_SIZE = EVENTS_AT + MAX_BLOCK_EVENTS
DRY, NONE = -1, -2  # sources that are not slots

# crossfade gain tables (float32, Python writes before activation): old source at k, then new source
MAX_FADE = 48_000  # frames: 500 ms at 96 kHz

# --- stats: int64, written by the callback (XRUNS by JACK's notification thread) ------------------
BLOCKS = 0  # callbacks run
FRAMES = 1  # samples processed (the MIDI ring's time base)
XRUNS = 2  # xruns reported by the server
TIME_SUM_NS = 3  # total callback time, for the mean
TIME_MAX_NS = 4  # longest callback
LAST_TIME_NS = 5  # the latest callback's time
LAST_NFRAMES = 6  # the latest block size
OVERSIZE = 7  # blocks longer than the preallocated scratch: output silenced, never overrun
MIDI_EVENTS = 8  # MIDI events seen (including ones too long for the ring, e.g. SysEx)
MIDI_WRITE = 9  # MIDI ring entries written (monotonic; ring index = value % MIDI_RING)
CPU_SUM_NS = 10  # total thread-CPU time of the callbacks (differs from TIME_SUM_NS when preempted)
CPU_MAX_NS = 11  # longest thread-CPU time of one callback: what the engine itself costs at worst
PREEMPTED = 12  # callbacks whose wall time exceeded their CPU time by more than PREEMPTION_NS
FADES = 13  # crossfades started
WAITS = 14  # blocks in which the wanted source was a slot not yet reset (the switch waited)
SCOPE_WRITE = 15  # frames written to the scope ring (monotonic; ring index = value % SCOPE_RING)
NON_FINITE = 16  # blocks with a NaN/Inf input sample (played as silence) or a model output gone non-finite (slot cleared)
PREEMPTION_NS = 50_000
STATS_SIZE = 17

# callback time histogram: bin i counts callbacks that took [i, i+1) * BIN_NS; the last bin is open
BIN_NS = 100
HISTOGRAM_BINS = 50_000  # 5 ms of range, far past any period the host runs at

# MIDI ring entries, int64: (absolute frame << 24) | status << 16 | data1 << 8 | data2
MIDI_RING = 1024

# scope ring, float32: the raw input at [0, SCOPE_RING), output 1 at [SCOPE_RING, 2 SCOPE_RING); Python reads
# it for the meters and the tuner (at least two of the largest blocks, so a reader always has a whole one)
SCOPE_RING = 16384

# largest block the callback processes; JACK's own maximum period is 8192 frames
MAX_BLOCK = 8192

# --- descriptor: int64, read by the callback; addresses of every array above plus the models --------
D_CONTROL, D_STATS, D_HISTOGRAM, D_MIDI_RING, D_SCRATCH, D_TIMESPEC, D_MIDI_EVENT, D_VOICE = range(8)
D_IN_PORT, D_MIDI_PORT, D_N_OUTS = 8, 9, 10  # JACK port handles (0 for other backends)
D_OUT_PORTS = 11  # D_OUT_PORTS + i: output port i
MAX_OUTS = 8
D_N_SLOTS = D_OUT_PORTS + MAX_OUTS
D_COMMANDS, D_MIDI_MAP, D_FADE, D_SCOPE = D_N_SLOTS + 1, D_N_SLOTS + 2, D_N_SLOTS + 3, D_N_SLOTS + 4
D_CHAIN_PARAMS = D_N_SLOTS + 5  # float64 scratch: the parameters of the chain being played
D_SLOTS = 32  # D_SLOTS + SLOT_RECORD * i: (address, length) of the model's layout, weights, state, cursor,
# then of its chain's layout, weights, state, fstate (length 0: no chain), then of its resampler's layout,
# weights, state, cursor (length 0: the model plays at the server's rate)
SLOT_RECORD = 24
R_RESAMPLER = 16  # where the resampler's arrays start in a slot's record
DESCRIPTOR_SIZE = D_SLOTS + SLOT_RECORD * MAX_SLOTS


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def fade_gains(frames: int, curve: str) -> tuple[np.ndarray, np.ndarray]:
    """Gains of the old and the new source over a fade (float32); see Channel.set_crossfade."""
    p = np.arange(1, frames + 1, dtype=np.float64) / max(frames, 1)
    if curve == "equal-gain":
        return (1.0 - p).astype(np.float32), p.astype(np.float32)
    if curve == "equal-power":
        return np.cos(p * np.pi / 2).astype(np.float32), np.sin(p * np.pi / 2).astype(np.float32)
    raise ValueError(f"unknown crossfade curve {curve!r}")


@dataclass
class Snapshot:
    """Statistics at one moment, and the difference of two (a window) via `since`."""

    stats: np.ndarray
    histogram: np.ndarray

    def since(self, earlier: "Snapshot") -> "Snapshot":
        window = self.stats - earlier.stats
        for index in (TIME_MAX_NS, CPU_MAX_NS):  # a maximum has no difference; keep the latest
            window[index] = self.stats[index]
        return Snapshot(window, self.histogram - earlier.histogram)

    @property
    def blocks(self) -> int:
        return int(self.stats[BLOCKS])

    @property
    def xruns(self) -> int:
        return int(self.stats[XRUNS])

    def mean_us(self) -> float:
        return self.stats[TIME_SUM_NS] / max(1, self.stats[BLOCKS]) / 1e3

    def cpu_max_us(self) -> float:
        return self.stats[CPU_MAX_NS] / 1e3

    def percentile_us(self, q: float) -> float:
        """Upper edge of the histogram bin holding the q-th percentile (q in 0..100)."""
        total = int(self.histogram.sum())
        if total == 0:
            return 0.0
        rank = int(np.ceil(q / 100.0 * total))
        index = int(np.searchsorted(np.cumsum(self.histogram), max(rank, 1)))
        return (index + 1) * BIN_NS / 1e3

    def max_us(self) -> float:
        """Longest callback in this window (bin resolution), or overall for an absolute snapshot."""
        nonzero = np.flatnonzero(self.histogram)
        if nonzero.size == 0:
            return 0.0
        if nonzero[-1] == HISTOGRAM_BINS - 1:  # open last bin: the exact maximum is in stats
            return self.stats[TIME_MAX_NS] / 1e3
        return (nonzero[-1] + 1) * BIN_NS / 1e3


class Channel:
    """Every array the callback touches, allocated once, plus the descriptor that points at them.

    The descriptor's address is the callback's `void *arg`. Python keeps this object (and the
    models) alive for as long as the callback may run: the descriptor holds raw addresses.
    """

    def __init__(self, models: list[StreamingModel], n_outs: int = 1):
        if not 1 <= len(models) <= MAX_SLOTS:
            raise ValueError(f"between 1 and {MAX_SLOTS} models, got {len(models)}")
        if not 1 <= n_outs <= MAX_OUTS:
            raise ValueError(f"between 1 and {MAX_OUTS} outputs, got {n_outs}")
        self.models = list(models)
        self.families = of_models(self.models)  # the kernel families its callbacks compile (block.for_families)
        self.control = np.zeros(CONTROL_SIZE, np.float64)
        self.control[INPUT_GAIN] = self.control[OUTPUT_GAIN] = 1.0
        for i, model in enumerate(self.models):
            self.control[SLOT_GAIN + i] = db_to_gain(model.output_gain_db)
            self.control[SLOT_INPUT_GAIN + i] = 1.0
        low, high = CC_GAIN_RANGE_DB
        for value in range(128):
            self.control[CC_GAIN + value] = db_to_gain(low + (high - low) * value / 127)
        self.control[CC_GATE_DB:CC_GATE_DB + 128] = [cc_gate_db(v) for v in range(128)]
        self.control[CC_EQ_DB:CC_EQ_DB + 128] = [cc_eq_db(v) for v in range(128)]
        self.commands = np.zeros(COMMANDS_SIZE, np.int64)
        self._post_lock = threading.Lock()  # Python threads (main, GPIO, MIDI tools) post one at a time
        self.midi_map = np.full(MIDI_MAP_SIZE, -1, np.int64)
        self.midi_map[MIDI_CHANNEL] = 0
        self.voice = np.zeros(VOICE_SIZE, np.int64)
        self.voice[FADING_FROM] = NONE
        self.voice[CC_IN] = self.voice[CC_OUT] = self.voice[CC_GATE_VALUE] = -1
        self.voice[CC_BASS_VALUE:CC_BASS_VALUE + 3] = -1
        self.chain_params = np.zeros(CHAIN_PARAMS, np.float64)  # the callback's scratch
        self.fade = np.zeros(2 * MAX_FADE, np.float32)  # old source's gain at k, then the new source's
        self.fade_frames = 0  # 0: a switch is instant (set_crossfade)
        self.stats = np.zeros(STATS_SIZE, np.int64)
        self.histogram = np.zeros(HISTOGRAM_BINS, np.int64)
        self.midi_ring = np.zeros(MIDI_RING, np.int64)
        self.scope = np.zeros(2 * SCOPE_RING, np.float32)
        # input after gain; output for buffer APIs; the fading-out source's output; the input, finite
        self.scratch = np.zeros(4 * MAX_BLOCK, np.float32)
        self.timespec = np.zeros(3, np.int64)  # clock_gettime's (tv_sec, tv_nsec), then the CPU time at start
        self.midi_event = np.zeros(3, np.int64)  # jack_midi_event_t: time (u32 + pad), size, data*
        self.descriptor = np.zeros(DESCRIPTOR_SIZE, np.int64)
        d = self.descriptor
        d[D_CONTROL], d[D_STATS], d[D_HISTOGRAM] = address(self.control), address(self.stats), address(self.histogram)
        d[D_MIDI_RING], d[D_SCRATCH] = address(self.midi_ring), address(self.scratch)
        d[D_TIMESPEC], d[D_MIDI_EVENT] = address(self.timespec), address(self.midi_event)
        d[D_VOICE], d[D_COMMANDS] = address(self.voice), address(self.commands)
        d[D_MIDI_MAP], d[D_FADE], d[D_SCOPE] = address(self.midi_map), address(self.fade), address(self.scope)
        d[D_CHAIN_PARAMS] = address(self.chain_params)
        d[D_N_OUTS] = n_outs
        d[D_N_SLOTS] = len(self.models)
        for i, model in enumerate(self.models):
            rec = D_SLOTS + SLOT_RECORD * i
            arrays = [model.layout, model.weights, model.state, model.cursor]
            if getattr(model, "chain", None) is not None:  # engine.chain.chain.Chain, played after the model
                arrays += [model.chain.layout, model.chain.weights, model.chain.state, model.chain.fstate]
                self.control[SLOT_CHAIN + CHAIN_PARAMS * i:SLOT_CHAIN + CHAIN_PARAMS * (i + 1)] = model.chain.params
            for j, array in enumerate(arrays):
                d[rec + 2 * j], d[rec + 2 * j + 1] = address(array), array.size
            resampler = getattr(model, "resampler", None)  # engine.chain.resampler.Resampler, around both
            if resampler is not None:
                for j, array in enumerate((resampler.layout, resampler.weights, resampler.state, resampler.cursor)):
                    d[rec + R_RESAMPLER + 2 * j], d[rec + R_RESAMPLER + 2 * j + 1] = address(array), array.size

    # --- set up before activation (the callback reads these without synchronisation) --------------
    def set_crossfade(self, frames: int, curve: str = "equal-power") -> None:
        """Switches fade over `frames` frames; frame k of a fade (k = 0..frames-1) is at p = (k+1)/frames:
        equal-gain: old 1-p, new p; equal-power: old cos(p pi/2), new sin(p pi/2). 0 frames: instant."""
        if not 0 <= frames <= MAX_FADE:
            raise ValueError(f"crossfade of {frames} frames: between 0 and {MAX_FADE}")
        old, new = fade_gains(frames, curve)
        self.fade[:frames], self.fade[MAX_FADE:MAX_FADE + frames] = old, new
        self.fade_frames = frames
        self.control[FADE_FRAMES] = frames

    def set_slot_gains(self, slot: int, input_db: float, output_db: float) -> None:
        self.control[SLOT_INPUT_GAIN + slot] = db_to_gain(input_db)
        self.control[SLOT_GAIN + slot] = db_to_gain(output_db)

    def set_midi_map(self, channel: int | None, cc: dict[str, int], programs: dict[int, int]) -> None:
        """MIDI channel (None: omni), controller per action (bank names), program -> slot."""
        self.midi_map[:] = -1
        self.midi_map[MIDI_CHANNEL] = channel or 0
        names = {"next": CC_NEXT, "previous": CC_PREVIOUS, "bypass": CC_BYPASS, "input_gain": CC_INPUT_GAIN,
                 "output_gain": CC_OUTPUT_GAIN, "select": CC_SELECT, "gate": CC_GATE, "bass": CC_BASS,
                 "mid": CC_BASS + 1, "treble": CC_BASS + 2}
        for action, number in cc.items():
            self.midi_map[names[action]] = number
        for program, slot in programs.items():
            self.midi_map[PROGRAM_SLOT + program] = slot

    def start_on(self, slot: int, bypassed: bool = False) -> None:
        """The source the first block plays, without a fade."""
        self._check_slot(slot)
        self.voice[CURRENT] = DRY if bypassed else slot
        self.voice[SELECTED], self.voice[BYPASSED] = slot, int(bypassed)

    # --- Python side of the control channel ----------------------------------------------------
    def set_input_gain_db(self, db: float) -> None:
        self.control[INPUT_GAIN] = db_to_gain(db)

    def set_output_gain_db(self, db: float) -> None:
        self.control[OUTPUT_GAIN] = db_to_gain(db)

    def set_chain(self, slot: int, **values: float | None) -> None:
        """Change slot `slot`'s chain live (a web page, a tool): gate_db (None: off), gate_release_ms,
        bass, mid, treble (dB), highpass_hz (0: off). Each value is one aligned store; the callback
        takes it at its next block and recomputes its filters. The IR is fixed at load."""
        self._check_slot(slot)
        model = self.models[slot]
        if model.chain is None:
            raise ValueError(f"slot {slot} plays without a chain")
        base = SLOT_CHAIN + CHAIN_PARAMS * slot
        for name, value in values.items():
            index, number = model.chain.parameter(name, value)
            model.chain.params[index] = number
            self.control[base + index] = number

    def chain_values(self, slot: int) -> dict[str, float | None]:
        """Slot `slot`'s chain parameters as the callback reads them (before MIDI controllers)."""
        self._check_slot(slot)
        chain = self.models[slot].chain
        if chain is None:
            raise ValueError(f"slot {slot} plays without a chain")
        base = SLOT_CHAIN + CHAIN_PARAMS * slot
        return chain.by_name(self.control[base:base + CHAIN_PARAMS])

    def set_mute(self, on: bool) -> None:
        self.control[MUTE] = float(on)

    def post(self, op: int, argument: int = 0) -> None:
        """Queue a switching command; the callback applies it at the start of its next block."""
        with self._post_lock:
            count = int(self.commands[COMMAND_COUNT])
            self.commands[COMMAND_RING_AT + count % COMMAND_RING] = (op << 32) | argument
            publish(self.commands, COMMAND_COUNT, count + 1)  # the entry is visible before the count

    def select_slot(self, slot: int) -> None:
        self._check_slot(slot)
        self.post(OP_SELECT, slot)

    def set_bypass(self, on: bool) -> None:
        self.post(OP_BYPASS_SET, int(bool(on)))

    def _check_slot(self, slot: int) -> None:
        if not 0 <= slot < len(self.models):
            raise ValueError(f"slot {slot} is not loaded (0..{len(self.models) - 1})")

    @property
    def selected(self) -> int:
        """The preset slot chosen last (by any source), whether or not its fade has started."""
        return int(self.voice[SELECTED])

    @property
    def bypassed(self) -> bool:
        return bool(self.voice[BYPASSED])

    def reset_released_slots(self) -> int:
        """Reset (and prewarm) every slot the callback stopped playing, then mark it ready.

        Runs on a Python thread, never in the callback: a reset takes far longer than a period. The
        callback does not touch a released slot until it is marked ready, so this owns its state.
        """
        n = len(self.models)
        stale = np.flatnonzero(self.voice[RELEASED:RELEASED + n] != self.commands[SLOT_RESETS:SLOT_RESETS + n])
        for slot in stale:  # usually none: a cheap look first, the fenced read only for a released slot
            released = load_acquire(self.voice, RELEASED + slot)
            self.models[slot].reset()
            publish(self.commands, SLOT_RESETS + slot, released)  # state is written before "ready"
        return int(stale.size)

    def set_ports(self, in_port: int, out_ports: list[int], midi_port: int = 0) -> None:
        """Raw JACK port handles; written before activation only."""
        d = self.descriptor
        d[D_IN_PORT], d[D_MIDI_PORT], d[D_N_OUTS] = in_port, midi_port, len(out_ports)
        d[D_OUT_PORTS:D_OUT_PORTS + len(out_ports)] = out_ports

    def reset_stats(self) -> None:
        self.stats[:] = 0
        self.histogram[:] = 0

    def snapshot(self) -> Snapshot:
        return Snapshot(self.stats.copy(), self.histogram.copy())

    def read_scope(self, frames: int) -> tuple[np.ndarray, np.ndarray, int]:
        """The latest `frames` (at most SCOPE_RING // 2) input and output samples and the write position.

        The callback never waits for a reader: the copy is checked afterwards, and samples the callback
        may have overwritten meanwhile are dropped from the front (rarely any: a copy takes microseconds).
        """
        frames = min(frames, SCOPE_RING // 2)
        end = load_acquire(self.stats, SCOPE_WRITE)
        index = np.arange(end - frames, end) % SCOPE_RING
        x, y = self.scope[index], self.scope[SCOPE_RING + index]
        load_acquire(self.stats, SCOPE_WRITE)  # its fence: the copy above is read before the position below
        first = max(end - frames, 0, load_acquire(self.stats, SCOPE_WRITE) - SCOPE_RING)  # older ones: overwritten
        keep = max(0, end - first)
        return x[frames - keep:], y[frames - keep:], end

    def read_midi(self, since: int) -> tuple[list[tuple[int, bytes]], int]:
        """MIDI entries written after ring position `since`: ([(frame, 3 bytes)], new position).

        Entries older than one ring length are lost (counted as skipped by the caller's position).
        """
        end = int(self.stats[MIDI_WRITE])
        start = max(since, end - MIDI_RING)
        events = []
        for i in range(start, end):
            word = int(self.midi_ring[i % MIDI_RING])
            events.append((word >> 24, bytes(((word >> 16) & 0xFF, (word >> 8) & 0xFF, word & 0xFF))))
        return events, end
