"""What every backend's real-time callback does with one block, compiled and allocation-free.

`render_block` reads the control channel, runs the selected model slot through the same
`process_block` as the offline render, and applies gains; `begin`/`finish` time the callback and
update the statistics. Models are rebuilt at every call from raw addresses in the descriptor
(`numba.carray` makes array views without allocating), so the callback needs no Python object.
"""

from __future__ import annotations

import numpy as np
from numba import carray, njit

from engine.kernels.dispatch import process_block
from engine.realtime import channel as ch
from engine.realtime.native import as_pointer, now_ns, thread_cpu_ns


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
def render_block(d, x_in, y, n):
    """y[:n] = output of the selected slot for x_in[:n], with the control channel's gains."""
    control = carray(as_pointer(d[ch.D_CONTROL]), ch.CONTROL_SIZE, np.float64)
    if n > ch.MAX_BLOCK or control[ch.MUTE] != 0.0:
        if n > ch.MAX_BLOCK:
            _i64(d, ch.D_STATS, ch.STATS_SIZE)[ch.OVERSIZE] += 1
        for t in range(n):
            y[t] = 0.0
        return
    if control[ch.BYPASS] != 0.0:
        for t in range(n):
            y[t] = x_in[t]
        return
    slot = min(max(int(control[ch.SLOT]), 0), d[ch.D_N_SLOTS] - 1)
    rec = ch.D_SLOTS + ch.SLOT_RECORD * slot
    layout = _i64(d, rec, d[rec + 1])
    weights = _f32(d, rec + 2, d[rec + 3])
    state = _f32(d, rec + 4, d[rec + 5])
    cursor = _i64(d, rec + 6, d[rec + 7])
    # the input port's buffer may be shared with other clients: scale into our own scratch
    x = _f32(d, ch.D_SCRATCH, n)
    gain_in = np.float32(control[ch.INPUT_GAIN])
    for t in range(n):
        x[t] = x_in[t] * gain_in
    out = y[:n]
    process_block(layout, weights, state, cursor, x, out)
    gain_out = np.float32(control[ch.OUTPUT_GAIN] * control[ch.SLOT_GAIN + slot])
    for t in range(n):
        out[t] = out[t] * gain_out


@njit(cache=True, error_model="numpy")
def interleaved_block(d, indata, outdata):
    """Buffer-in/buffer-out variant for callback APIs that hand (frames, channels) arrays."""
    started = begin(d)
    n = indata.shape[0]
    if n > ch.MAX_BLOCK:  # never overrun the scratch: silence, counted
        _i64(d, ch.D_STATS, ch.STATS_SIZE)[ch.OVERSIZE] += 1
        outdata[:, :] = 0.0
        finish(d, started, n)
        return
    y = _f32(d, ch.D_SCRATCH, 2 * ch.MAX_BLOCK)[ch.MAX_BLOCK:ch.MAX_BLOCK + n]
    render_block(d, indata[:, 0], y, n)
    for c in range(outdata.shape[1]):
        for t in range(n):
            outdata[t, c] = y[t]
    finish(d, started, n)


def warm_up(channel: ch.Channel, block: int) -> None:
    """Run every slot once on silence (compiles, pages in weights and state), then reset them all."""
    n = max(1, min(block, ch.MAX_BLOCK))
    x, y = np.zeros(n, np.float32), np.zeros(n, np.float32)
    selected = channel.control[ch.SLOT]
    for slot in range(len(channel.models)):
        channel.control[ch.SLOT] = slot
        render_block(channel.descriptor, x, y, n)
    interleaved_block(channel.descriptor, x.reshape(n, 1), y.reshape(n, 1))  # the buffer-API variant
    channel.control[ch.SLOT] = selected
    for model in channel.models:
        model.reset()
    channel.reset_stats()
