"""The shared-memory channel between Python threads and the real-time callback.

The callback takes no locks and calls no Python, so everything it exchanges with the rest of the
program lives in preallocated numpy arrays that both sides index by the names below. Each slot has
one writer: Python writes `control`, the callback writes `stats`, `histogram` and the MIDI ring
(the xrun counter is written by JACK's notification thread, never by the callback). 8-byte aligned
loads and stores are atomic on x86-64 and arm64, so a reader sees either the old or the new value.

The callback reads every control value once at the start of each block: a change takes effect at
the next block boundary. The presets issue builds on this: it loads every preset's model into its own
slot before going live, then selects one by writing `control[SLOT]`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.realtime.native import address
from engine.streaming import StreamingModel

# --- control: float64, written by Python, read by the callback at each block start ---------------
INPUT_GAIN = 0  # linear gain before the model
OUTPUT_GAIN = 1  # linear gain after the model (user level; the slot's own gain multiplies it)
BYPASS = 2  # nonzero: outputs carry the input unchanged
SLOT = 3  # index of the model slot that plays (clamped to the loaded slots)
MUTE = 4  # nonzero: outputs are silent
SLOT_GAIN = 8  # SLOT_GAIN + i: slot i's own linear gain (the model's level adjust, level matching)
MAX_SLOTS = 32
CONTROL_SIZE = SLOT_GAIN + MAX_SLOTS

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
PREEMPTION_NS = 50_000
STATS_SIZE = 16

# callback time histogram: bin i counts callbacks that took [i, i+1) * BIN_NS; the last bin is open
BIN_NS = 100
HISTOGRAM_BINS = 50_000  # 5 ms of range, far past any period the host runs at

# MIDI ring entries, int64: (absolute frame << 24) | status << 16 | data1 << 8 | data2
MIDI_RING = 1024

# largest block the callback processes; JACK's own maximum period is 8192 frames
MAX_BLOCK = 8192

# --- descriptor: int64, read by the callback; addresses of every array above plus the models --------
D_CONTROL, D_STATS, D_HISTOGRAM, D_MIDI_RING, D_SCRATCH, D_TIMESPEC, D_MIDI_EVENT = range(7)
D_IN_PORT, D_MIDI_PORT, D_N_OUTS = 8, 9, 10  # JACK port handles (0 for other backends)
D_OUT_PORTS = 11  # D_OUT_PORTS + i: output port i
MAX_OUTS = 8
D_N_SLOTS = D_OUT_PORTS + MAX_OUTS
D_SLOTS = 24  # D_SLOTS + SLOT_RECORD * i: layout, weights, state, cursor as (address, length) pairs
SLOT_RECORD = 8
DESCRIPTOR_SIZE = D_SLOTS + SLOT_RECORD * MAX_SLOTS


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


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
        self.control = np.zeros(CONTROL_SIZE, np.float64)
        self.control[INPUT_GAIN] = self.control[OUTPUT_GAIN] = 1.0
        for i, model in enumerate(self.models):
            self.control[SLOT_GAIN + i] = db_to_gain(model.output_gain_db)
        self.stats = np.zeros(STATS_SIZE, np.int64)
        self.histogram = np.zeros(HISTOGRAM_BINS, np.int64)
        self.midi_ring = np.zeros(MIDI_RING, np.int64)
        self.scratch = np.zeros(2 * MAX_BLOCK, np.float32)  # input after gain; output for buffer APIs
        self.timespec = np.zeros(3, np.int64)  # clock_gettime's (tv_sec, tv_nsec), then the CPU time at start
        self.midi_event = np.zeros(3, np.int64)  # jack_midi_event_t: time (u32 + pad), size, data*
        self.descriptor = np.zeros(DESCRIPTOR_SIZE, np.int64)
        d = self.descriptor
        d[D_CONTROL], d[D_STATS], d[D_HISTOGRAM] = address(self.control), address(self.stats), address(self.histogram)
        d[D_MIDI_RING], d[D_SCRATCH] = address(self.midi_ring), address(self.scratch)
        d[D_TIMESPEC], d[D_MIDI_EVENT] = address(self.timespec), address(self.midi_event)
        d[D_N_OUTS] = n_outs
        d[D_N_SLOTS] = len(self.models)
        for i, model in enumerate(self.models):
            rec = D_SLOTS + SLOT_RECORD * i
            for j, array in enumerate((model.layout, model.weights, model.state, model.cursor)):
                d[rec + 2 * j], d[rec + 2 * j + 1] = address(array), array.size

    # --- Python side of the control channel ----------------------------------------------------
    def set_input_gain_db(self, db: float) -> None:
        self.control[INPUT_GAIN] = db_to_gain(db)

    def set_output_gain_db(self, db: float) -> None:
        self.control[OUTPUT_GAIN] = db_to_gain(db)

    def set_bypass(self, on: bool) -> None:
        self.control[BYPASS] = float(on)

    def set_mute(self, on: bool) -> None:
        self.control[MUTE] = float(on)

    def select_slot(self, slot: int) -> None:
        if not 0 <= slot < len(self.models):
            raise ValueError(f"slot {slot} is not loaded (0..{len(self.models) - 1})")
        self.control[SLOT] = float(slot)

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
