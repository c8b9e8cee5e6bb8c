"""What every backend's real-time callback does with one block, compiled and allocation-free.

`render_block` plays non-finite input samples as silence (and clears a slot whose output overflows),
applies Python's switching commands and the block's MIDI events at their frames,
runs the playing source (a model slot through the same `process_block` as the offline render, or
the dry input) with its gains, and mixes crossfades; `begin`/`finish` time the callback and update
the statistics. The switching protocol (which slot may be faded in, who resets it) is described in
docs/presets.md. Models are rebuilt at every call from raw addresses in the descriptor
(`numba.carray` makes array views without allocating), so the callback needs no Python object.

A callback is compiled for the kernel families of the models it plays (`for_families`, a closure
over engine/kernels/dispatch.py's three flags, which prunes the other families' kernels): a bank of
NAM captures never compiles the gated WaveNet or the LSTM. A host compiles another set off the audio
thread (a restart onto a bank that needs another family) while the current one plays.
"""

from __future__ import annotations

import functools
from typing import Callable, NamedTuple

import numpy as np
from numba import carray, njit, types

from engine.kernels import chain, resample
from engine.kernels.dispatch import flags, model_block
from engine.realtime import channel as ch
from engine.realtime.native import acquire_fence, as_pointer, now_ns, release_fence, thread_cpu_ns

# The functions between a callback and the kernels are inlined at numba's IR level (model_block
# too): each separately compiled level would compile every kernel's code once more
# (engine/kernels/dispatch.py), minutes on a first start. They take the family flags (gated,
# wavenet, lstm) as arguments, constants once inlined into a `for_families` closure.


@njit(cache=True, error_model="numpy")
def _f32(d, index, length):
    return carray(as_pointer(d[index]), length, np.float32)


@njit(cache=True, error_model="numpy")
def _i64(d, index, length):
    return carray(as_pointer(d[index]), length, np.int64)


@njit(cache=True, error_model="numpy")
def begin(d):
    """Callback start time (ns); the thread's CPU time at start is kept in the timespec scratch."""
    timespec = _i64(d, ch.D_TIMESPEC, 3)
    cpu = thread_cpu_ns(timespec)
    timespec[2] = cpu
    return now_ns(timespec)


@njit(cache=True, error_model="numpy")
def finish(d, started_ns, n):
    """Count the block and record how long the callback took (wall clock and thread CPU time)."""
    timespec = _i64(d, ch.D_TIMESPEC, 3)
    elapsed = now_ns(timespec) - started_ns
    cpu = thread_cpu_ns(timespec) - timespec[2]
    stats = _i64(d, ch.D_STATS, ch.STATS_SIZE)
    stats[ch.CPU_SUM_NS] += cpu
    if cpu > stats[ch.CPU_MAX_NS]:
        stats[ch.CPU_MAX_NS] = cpu
    if elapsed - cpu > ch.PREEMPTION_NS:
        stats[ch.PREEMPTED] += 1
    histogram = _i64(d, ch.D_HISTOGRAM, ch.HISTOGRAM_BINS)
    histogram[min(elapsed // ch.BIN_NS, ch.HISTOGRAM_BINS - 1)] += 1
    stats[ch.TIME_SUM_NS] += elapsed
    stats[ch.LAST_TIME_NS] = elapsed
    if elapsed > stats[ch.TIME_MAX_NS]:
        stats[ch.TIME_MAX_NS] = elapsed
    stats[ch.LAST_NFRAMES] = n
    stats[ch.FRAMES] += n
    stats[ch.BLOCKS] += 1


@njit(cache=True, error_model="numpy")
def _ready(d, voice, source):
    """A source can be faded in: the dry input always; a slot once Python has reset it since it last
    played (its reset count caught up with the callback's release count)."""
    if source == ch.DRY:
        return True
    commands = _i64(d, ch.D_COMMANDS, ch.COMMANDS_SIZE)
    ready = commands[ch.SLOT_RESETS + source] == voice[ch.RELEASED + source]
    acquire_fence()  # the reset state is read only after the flag
    return ready


@njit(cache=True, error_model="numpy")
def _release(voice, source):
    """The callback is done with `source`: a slot's state is stale until Python resets it."""
    if source >= 0:
        release_fence()  # our last writes to its state come before Python may start the reset
        voice[ch.RELEASED + source] += 1


@njit(cache=True, error_model="numpy")
def _select(voice, slot, n_slots):
    if 0 <= slot < n_slots:
        voice[ch.SELECTED] = slot


@njit(cache=True, error_model="numpy")
def _apply_command(voice, op, argument, n_slots):
    if op == ch.OP_SELECT:
        _select(voice, argument, n_slots)
    elif op == ch.OP_NEXT:
        voice[ch.SELECTED] = (voice[ch.SELECTED] + 1) % n_slots
    elif op == ch.OP_PREVIOUS:
        voice[ch.SELECTED] = (voice[ch.SELECTED] + n_slots - 1) % n_slots
    elif op == ch.OP_BYPASS_TOGGLE:
        voice[ch.BYPASSED] = 1 - voice[ch.BYPASSED]
    elif op == ch.OP_BYPASS_SET:
        voice[ch.BYPASSED] = 1 if argument != 0 else 0


@njit(cache=True, error_model="numpy")
def _apply_commands(d, voice, n_slots):
    """Python's commands posted since the last block, in order (all at the block's first frame)."""
    commands = _i64(d, ch.D_COMMANDS, ch.COMMANDS_SIZE)
    count = commands[ch.COMMAND_COUNT]
    acquire_fence()  # entries are read only after the count that announced them
    first = max(voice[ch.COMMANDS_READ], count - ch.COMMAND_RING)  # a ring lapped while we were stopped
    for i in range(first, count):
        word = commands[ch.COMMAND_RING_AT + i % ch.COMMAND_RING]
        _apply_command(voice, word >> 32, word & 0xFFFFFFFF, n_slots)
    voice[ch.COMMANDS_READ] = count


@njit(cache=True, error_model="numpy")
def _apply_midi(d, voice, message, n_slots):
    """One short MIDI message (status << 16 | data1 << 8 | data2) per the bank's map."""
    midi_map = _i64(d, ch.D_MIDI_MAP, ch.MIDI_MAP_SIZE)
    status, data1, data2 = (message >> 16) & 0xFF, (message >> 8) & 0xFF, message & 0xFF
    channel = midi_map[ch.MIDI_CHANNEL]
    if channel != 0 and (status & 0x0F) + 1 != channel:
        return
    kind = status & 0xF0
    if kind == 0xC0:
        _select(voice, midi_map[ch.PROGRAM_SLOT + (data1 & 0x7F)], n_slots)
    elif kind == 0xB0:
        pressed = data2 >= 64  # switch-type controllers: 127 on press, 0 on release
        if data1 == midi_map[ch.CC_NEXT]:
            if pressed:
                _apply_command(voice, ch.OP_NEXT, 0, n_slots)
        elif data1 == midi_map[ch.CC_PREVIOUS]:
            if pressed:
                _apply_command(voice, ch.OP_PREVIOUS, 0, n_slots)
        elif data1 == midi_map[ch.CC_BYPASS]:
            if pressed:
                _apply_command(voice, ch.OP_BYPASS_TOGGLE, 0, n_slots)
        elif data1 == midi_map[ch.CC_INPUT_GAIN]:
            voice[ch.CC_IN] = data2
        elif data1 == midi_map[ch.CC_OUTPUT_GAIN]:
            voice[ch.CC_OUT] = data2
        elif data1 == midi_map[ch.CC_SELECT]:
            _select(voice, data2, n_slots)
        elif data1 == midi_map[ch.CC_GATE]:
            voice[ch.CC_GATE_VALUE] = data2
        else:
            for band in range(3):
                if data1 == midi_map[ch.CC_BASS + band]:
                    voice[ch.CC_BASS_VALUE + band] = data2


@njit(cache=True, error_model="numpy")
def _maybe_start_fade(d, voice, stats, fade_frames):
    """Start fading to the wanted source when no fade runs and it is ready; True if it must wait."""
    target = ch.DRY if voice[ch.BYPASSED] != 0 else voice[ch.SELECTED]
    if voice[ch.FADING_FROM] != ch.NONE or target == voice[ch.CURRENT]:
        return False
    if not _ready(d, voice, target):
        return True
    old = voice[ch.CURRENT]
    voice[ch.CURRENT] = target
    stats[ch.FADES] += 1
    if fade_frames <= 0:
        _release(voice, old)
    else:
        voice[ch.FADING_FROM], voice[ch.FADE_POS], voice[ch.FADE_LEN] = old, 0, fade_frames
    return False


@njit(cache=True, error_model="numpy")
def _cc_gain(control, value):
    return 1.0 if value < 0 else control[ch.CC_GAIN + value]


@njit(cache=True, error_model="numpy")
def _finite(x, lo, hi):
    for t in range(lo, hi):
        if not np.isfinite(x[t]):
            return False
    return True


@njit(cache=True, error_model="numpy")
def _finite_input(d, x_in, n, stats):
    """The block's input in our scratch with every NaN or Inf sample played as silence: one glitch of
    the interface must not poison a model's state (JACK's port buffer may be shared: never written)."""
    clean = _f32(d, ch.D_SCRATCH, 4 * ch.MAX_BLOCK)[3 * ch.MAX_BLOCK:3 * ch.MAX_BLOCK + n]
    replaced = False
    for t in range(n):
        v = x_in[t]
        if np.isfinite(v):
            clean[t] = v
        else:
            clean[t] = 0.0
            replaced = True
    if replaced:
        stats[ch.NON_FINITE] += 1
    return clean


@njit(inline="always", cache=True, error_model="numpy")  # a level inlined (see the top)
def _play(gated, wavenet, lstm, d, control, voice, source, x_in, out, lo, hi):
    """out[lo:hi] = what `source` plays for x_in[lo:hi]: the dry input, or a slot with its gains (its
    model and chain at the model's rate, through the slot's resampler when it has one)."""
    if source == ch.DRY:
        for t in range(lo, hi):
            out[t] = x_in[t]
        return
    rec = ch.D_SLOTS + ch.SLOT_RECORD * source
    layout = _i64(d, rec, d[rec + 1])
    weights = _f32(d, rec + 2, d[rec + 3])
    state = _f32(d, rec + 4, d[rec + 5])
    cursor = _i64(d, rec + 6, d[rec + 7])
    # the input port's buffer may be shared with other clients: scale into our own scratch
    x = _f32(d, ch.D_SCRATCH, ch.MAX_BLOCK)
    gain_in = np.float32(control[ch.INPUT_GAIN] * control[ch.SLOT_INPUT_GAIN + source] * _cc_gain(control, voice[ch.CC_IN]))
    for t in range(lo, hi):
        x[t] = x_in[t] * gain_in
    r = rec + ch.R_RESAMPLER  # length 0: no resampler, the model plays at the server's rate
    resampled = d[r + 1] > 0
    r_layout, r_weights, r_state, r_cursor = _i64(d, r, d[r + 1]), _f32(d, r + 2, d[r + 3]), _f32(d, r + 4, d[r + 5]), \
        _i64(d, r + 6, d[r + 7])
    m = hi - lo
    xs, ys = x[lo:hi], out[lo:hi]
    if resampled:
        m = resample.consume(r_layout, r_weights, r_state, r_cursor, x[lo:hi])
        xs, ys = resample.model_buffers(r_layout, r_state, m)
    model_block(gated, wavenet, lstm, layout, weights, state, cursor, xs, ys)
    has_chain = d[rec + 9] > 0
    if has_chain and _finite(ys, 0, m):  # the chain never hears a non-finite sample
        _play_chain(d, control, voice, source, xs, ys)
    if not _finite(ys, 0, m):  # a huge input overflowed the model, an IR or a filter: silent, the slot starts afresh
        state[:] = 0.0
        cursor[:] = 0
        if has_chain:  # zeroed arrays are a reset chain (engine/kernels/chain.py)
            _f32(d, rec + 12, d[rec + 13])[:] = 0.0
            carray(as_pointer(d[rec + 14]), d[rec + 15], np.float64)[:] = 0.0
        r_state[:] = 0.0  # histories only: the resampler's phase counters keep the ratio exact
        ys[:] = 0.0
        _i64(d, ch.D_STATS, ch.STATS_SIZE)[ch.NON_FINITE] += 1
    if resampled:
        resample.produce(r_layout, r_weights, r_state, r_cursor, m, out[lo:hi])
    gain_out = np.float32(control[ch.OUTPUT_GAIN] * control[ch.SLOT_GAIN + source]
                          * _cc_gain(control, voice[ch.CC_OUT]))
    for t in range(lo, hi):
        out[t] = out[t] * gain_out


@njit(inline="always", cache=True, error_model="numpy")  # a level inlined (see the top)
def _play_chain(d, control, voice, source, x, y):
    """The slot's gate, tone stack, IR and high-pass on its model's output y (x: the model's input),
    with the slot's parameters from the control channel, overridden by MIDI controllers once moved."""
    rec = ch.D_SLOTS + ch.SLOT_RECORD * source
    params = carray(as_pointer(d[ch.D_CHAIN_PARAMS]), chain.N_PARAMS, np.float64)
    base = ch.SLOT_CHAIN + chain.N_PARAMS * source
    for i in range(chain.N_PARAMS):
        params[i] = control[base + i]
    if voice[ch.CC_GATE_VALUE] >= 0:
        params[chain.P_GATE_DB] = control[ch.CC_GATE_DB + voice[ch.CC_GATE_VALUE]]
    for band in range(3):
        if voice[ch.CC_BASS_VALUE + band] >= 0:
            params[chain.P_BASS + band] = control[ch.CC_EQ_DB + voice[ch.CC_BASS_VALUE + band]]
    chain.process(_i64(d, rec + 8, d[rec + 9]), _f32(d, rec + 10, d[rec + 11]), _f32(d, rec + 12, d[rec + 13]),
                  carray(as_pointer(d[rec + 14]), d[rec + 15], np.float64), params, x, y)


@njit(inline="always", cache=True, error_model="numpy")  # a level inlined (see the top)
def _fade_segment(gated, wavenet, lstm, d, control, voice, x_in, y, lo, hi):
    """y[lo:hi]: the old source times the fade-out gain plus the new one times the fade-in gain."""
    old = _f32(d, ch.D_SCRATCH, 3 * ch.MAX_BLOCK)[2 * ch.MAX_BLOCK:]
    _play(gated, wavenet, lstm, d, control, voice, voice[ch.FADING_FROM], x_in, old, lo, hi)
    _play(gated, wavenet, lstm, d, control, voice, voice[ch.CURRENT], x_in, y, lo, hi)
    fade = _f32(d, ch.D_FADE, 2 * ch.MAX_FADE)
    k = voice[ch.FADE_POS] - lo
    for t in range(lo, hi):
        y[t] = old[t] * fade[k + t] + y[t] * fade[ch.MAX_FADE + k + t]
    voice[ch.FADE_POS] += hi - lo
    if voice[ch.FADE_POS] >= voice[ch.FADE_LEN]:  # done: drop the old source
        _release(voice, voice[ch.FADING_FROM])
        voice[ch.FADING_FROM] = ch.NONE


@njit(cache=True, error_model="numpy")
def _record_scope(d, stats, x_in, y, n):
    """Append the block's raw input and its output to the scope ring (the meters and tuner read it)."""
    scope = _f32(d, ch.D_SCOPE, 2 * ch.SCOPE_RING)
    position = stats[ch.SCOPE_WRITE]
    for t in range(n):
        i = (position + t) % ch.SCOPE_RING
        scope[i] = x_in[t]
        scope[ch.SCOPE_RING + i] = y[t]
    release_fence()  # the samples are visible before the new write position
    stats[ch.SCOPE_WRITE] = position + n


@njit(inline="always", cache=True, error_model="numpy")  # into each family set's callbacks
def render(gated, wavenet, lstm, d, x_in, y, n):
    """y[:n] = the block's output: switching commands and MIDI applied at their frames, the playing
    source (a model slot or the dry input) run with its gains, crossfades mixed in."""
    control = carray(as_pointer(d[ch.D_CONTROL]), ch.CONTROL_SIZE, np.float64)
    voice = _i64(d, ch.D_VOICE, ch.VOICE_SIZE)
    stats = _i64(d, ch.D_STATS, ch.STATS_SIZE)
    if n > ch.MAX_BLOCK or control[ch.MUTE] != 0.0:
        if n > ch.MAX_BLOCK:
            stats[ch.OVERSIZE] += 1
        for t in range(n):
            y[t] = 0.0
        voice[ch.BLOCK_EVENTS] = 0
        if n <= ch.MAX_BLOCK:  # muted (e.g. while tuning): the tuner still hears the input, finite
            _record_scope(d, stats, _finite_input(d, x_in, n, stats), y, n)
        return
    x_in = _finite_input(d, x_in, n, stats)
    n_slots = d[ch.D_N_SLOTS]
    fade_frames = min(max(int(control[ch.FADE_FRAMES]), 0), ch.MAX_FADE)
    _apply_commands(d, voice, n_slots)
    events = min(voice[ch.BLOCK_EVENTS], ch.MAX_BLOCK_EVENTS)
    k = 0
    waited = False
    t = 0
    while t < n:
        # segments end where an event applies or a fade ends: a fade starts at its event's frame
        while k < events and (voice[ch.EVENTS_AT + k] >> 24) <= t:
            _apply_midi(d, voice, voice[ch.EVENTS_AT + k] & 0xFFFFFF, n_slots)
            k += 1
        waited |= _maybe_start_fade(d, voice, stats, fade_frames)
        end = n
        if k < events:
            end = min(end, voice[ch.EVENTS_AT + k] >> 24)
        if voice[ch.FADING_FROM] == ch.NONE:
            _play(gated, wavenet, lstm, d, control, voice, voice[ch.CURRENT], x_in, y, t, end)
        else:
            end = min(end, t + voice[ch.FADE_LEN] - voice[ch.FADE_POS])
            _fade_segment(gated, wavenet, lstm, d, control, voice, x_in, y, t, end)
        t = end
    while k < events:  # stamped past the block (never from JACK): applied at its end
        _apply_midi(d, voice, voice[ch.EVENTS_AT + k] & 0xFFFFFF, n_slots)
        k += 1
    voice[ch.BLOCK_EVENTS] = 0
    if waited:
        stats[ch.WAITS] += 1
    _record_scope(d, stats, x_in, y, n)


@njit(inline="always", cache=True, error_model="numpy")  # into each family set's callbacks
def interleaved(gated, wavenet, lstm, d, indata, outdata):
    """Buffer-in/buffer-out variant for callback APIs that hand (frames, channels) arrays."""
    started = begin(d)
    n = indata.shape[0]
    if n > ch.MAX_BLOCK:  # never overrun the scratch: silence, counted
        _i64(d, ch.D_STATS, ch.STATS_SIZE)[ch.OVERSIZE] += 1
        outdata[:, :] = 0.0
        finish(d, started, n)
        return
    y = _f32(d, ch.D_SCRATCH, 2 * ch.MAX_BLOCK)[ch.MAX_BLOCK:ch.MAX_BLOCK + n]
    render(gated, wavenet, lstm, d, indata[:, 0], y, n)
    for c in range(outdata.shape[1]):
        for t in range(n):
            outdata[t, c] = y[t]
    finish(d, started, n)


class Callbacks(NamedTuple):
    render_block: Callable  # (descriptor, x, y, n): y[:n] for x[:n], mono
    interleaved_block: Callable  # (descriptor, indata, outdata): (frames, channels) arrays, as PortAudio hands them


@functools.cache
def for_families(families: frozenset) -> Callbacks:
    """The block functions compiled for models of these kernel ids only (other families play silence)."""
    gated, wavenet, lstm = flags(families)

    @njit(cache=True, error_model="numpy")
    def render_block(d, x_in, y, n):
        render(gated, wavenet, lstm, d, x_in, y, n)

    @njit(cache=True, error_model="numpy")
    def interleaved_block(d, indata, outdata):
        interleaved(gated, wavenet, lstm, d, indata, outdata)

    return Callbacks(render_block, interleaved_block)


# the types interleaved_block is called with (a descriptor, C-contiguous (frames, 1) float32 blocks)
INTERLEAVED_ARGS = (types.int64[::1], types.float32[:, ::1], types.float32[:, ::1])


def warm_up(channel: ch.Channel, block: int, play: Callable[[np.ndarray], object] | None = None) -> None:
    """Run every slot once on silence, and one crossfade (compiles, pages in weights, state and the
    mixing code), then reset every model and restore the switching state Python set up. `play(x)`
    runs one block through the host's own compiled callback (default: `render_block`), so a host
    compiles nothing it will not run."""
    n = max(1, min(block, ch.MAX_BLOCK))
    if play is None:
        render_block, y = for_families(channel.families).render_block, np.zeros(n, np.float32)
        play = lambda x: render_block(channel.descriptor, x, y, x.size)  # noqa: E731
    silence = np.zeros(n, np.float32)
    voice = channel.voice
    saved = voice.copy()
    voice[ch.COMMANDS_READ] = channel.commands[ch.COMMAND_COUNT]  # commands posted so far wait for the callback
    for slot in range(len(channel.models)):
        voice[ch.CURRENT], voice[ch.SELECTED], voice[ch.BYPASSED], voice[ch.FADING_FROM] = slot, slot, 0, ch.DRY
        voice[ch.FADE_POS], voice[ch.FADE_LEN] = 0, ch.MAX_FADE  # no fade table read beyond n frames
        play(silence)
    voice[ch.FADING_FROM] = ch.NONE
    voice[:] = saved
    voice[ch.RELEASED:ch.RELEASED + ch.MAX_SLOTS] = channel.commands[ch.SLOT_RESETS:ch.SLOT_RESETS + ch.MAX_SLOTS]
    for model in channel.models:
        model.reset()
    channel.reset_stats()
