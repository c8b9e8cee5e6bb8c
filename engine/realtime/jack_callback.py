"""The JACK process callback as a numba `@cfunc`: compiled, GIL-free, allocation-free.

libjack calls `jack_process(nframes, arg)` on its real-time thread with `arg` = the address of the
channel's descriptor (engine/realtime/channel.py). The callback fetches its port buffers from
libjack, copies incoming MIDI into the channel's ring and hands it to `render_block` (Program Change
and CC act at their frame), runs `render_block` and copies the first output to the others. No Python object is touched, so no Python thread can delay it.

`for_families` compiles it for the kernel families a bank plays (engine/realtime/block.py), the
block code inlined into it: one compiled function, no separately compiled level to link in again.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import carray, njit, types
from numba.core import event
from numba.core.ccallback import CFunc

from engine.realtime import channel as ch
from engine.kernels.dispatch import flags
from engine.realtime.block import _i64, begin, finish, render
from engine.realtime.libjack import jack_midi_event_get, jack_midi_get_event_count, jack_port_get_buffer
from engine.realtime.native import as_pointer, release_fence


@njit(cache=True, error_model="numpy")
def _port_audio(d, index, nframes):
    """A port's buffer for this block; no port (handle 0: `without_ports`, before activation) plays
    from and into the scratch block that only the buffer APIs use, so libjack is not called."""
    if d[index] == 0:
        return carray(as_pointer(d[ch.D_SCRATCH]), 2 * ch.MAX_BLOCK, np.float32)[ch.MAX_BLOCK:ch.MAX_BLOCK + nframes]
    return carray(jack_port_get_buffer(as_pointer(d[index]), nframes), nframes, np.float32)


@njit(cache=True, error_model="numpy")
def _collect_midi(d, nframes):
    """Append short MIDI messages of this block to the ring, stamped with their absolute frame, and
    hand them to `render_block` (voice BLOCK_EVENTS) stamped with their frame in the block."""
    buffer = jack_port_get_buffer(as_pointer(d[ch.D_MIDI_PORT]), nframes)
    stats = _i64(d, ch.D_STATS, ch.STATS_SIZE)
    ring = _i64(d, ch.D_MIDI_RING, ch.MIDI_RING)
    event = _i64(d, ch.D_MIDI_EVENT, 3)  # jack_midi_event_t {uint32 time; size_t size; uint8 *buffer}
    voice = _i64(d, ch.D_VOICE, ch.VOICE_SIZE)
    queued = 0
    for i in range(jack_midi_get_event_count(buffer)):
        if jack_midi_event_get(as_pointer(d[ch.D_MIDI_EVENT]), buffer, i) != 0:
            continue
        stats[ch.MIDI_EVENTS] += 1
        size = event[1]
        if size < 1 or size > 3:
            continue  # SysEx and friends: counted, not queued
        data = carray(as_pointer(event[2]), size, np.uint8)
        offset = min(event[0] & 0xFFFFFFFF, nframes)
        message = np.int64(data[0]) << 16
        if size > 1:
            message |= np.int64(data[1]) << 8
        if size > 2:
            message |= np.int64(data[2])
        if queued < ch.MAX_BLOCK_EVENTS:
            voice[ch.EVENTS_AT + queued] = (offset << 24) | message
            queued += 1
        position = stats[ch.MIDI_WRITE]
        ring[position % ch.MIDI_RING] = ((stats[ch.FRAMES] + offset) << 24) | message
        release_fence()  # the entry is visible before the new write position
        stats[ch.MIDI_WRITE] = position + 1
    voice[ch.BLOCK_EVENTS] = queued


@njit(inline="always", cache=True, error_model="numpy")
def process(gated, wavenet, lstm, nframes, arg):
    d = carray(arg, ch.DESCRIPTOR_SIZE, np.int64)
    started = begin(d)
    if d[ch.D_MIDI_PORT] != 0:
        _collect_midi(d, nframes)
    first = _port_audio(d, ch.D_OUT_PORTS, nframes)
    render(gated, wavenet, lstm, d, _port_audio(d, ch.D_IN_PORT, nframes), first, nframes)
    for k in range(1, d[ch.D_N_OUTS]):
        other = _port_audio(d, ch.D_OUT_PORTS + k, nframes)
        for t in range(nframes):
            other[t] = first[t]
    finish(d, started, nframes)


SIGNATURE = types.int32(types.uint32, types.voidptr)  # JackProcessCallback: int (*)(jack_nframes_t, void *)


class _AnnouncedCFunc(CFunc):
    """A cached cfunc whose compile (a cache miss) fires numba's compile event as a dispatcher's does:
    numba fires none for a cfunc, and this one holds the whole callback, minutes on a first start
    that engine/compile_progress.py must announce."""

    def _compile_uncached(self):
        data = dict(dispatcher=self, args=self._sig.args, return_type=self._sig.return_type)
        with event.trigger_event("numba:compile", data=data):
            return super()._compile_uncached()


@functools.cache
def for_families(families: frozenset) -> CFunc:
    """The `jack_process(nframes, arg)` cfunc for models of these kernel ids (compiled, or loaded from
    numba's cache, here: pass its `.address` to libjack)."""
    gated, wavenet, lstm = flags(families)

    def jack_process(nframes, arg):
        process(gated, wavenet, lstm, nframes, arg)
        return 0

    callback = _AnnouncedCFunc(jack_process, (SIGNATURE.args, SIGNATURE.return_type), locals={},
                               options=dict(error_model="numpy"))
    callback.enable_caching()
    callback.compile()
    return callback


def without_ports(callback: CFunc, channel: ch.Channel):
    """`block(x) -> y`: the compiled callback itself on one block, on a copy of the channel's
    descriptor without JACK ports (x goes where the input port's buffer would be, y is output 1):
    `warm_up` runs, before activation, the very code JACK will call, and nothing else is compiled.
    (Muted, the scope records the zeroed output as the input.)"""
    descriptor = channel.descriptor.copy()
    descriptor[ch.D_IN_PORT] = descriptor[ch.D_MIDI_PORT] = 0
    descriptor[ch.D_OUT_PORTS:ch.D_OUT_PORTS + ch.MAX_OUTS] = 0
    descriptor[ch.D_N_OUTS] = 1
    port = channel.scratch[ch.MAX_BLOCK:2 * ch.MAX_BLOCK]  # in and out: the callback copies its input before it writes

    def block(x: np.ndarray) -> np.ndarray:
        port[:x.size] = x
        callback.ctypes(x.size, descriptor.ctypes.data)
        return port[:x.size].copy()

    return block
