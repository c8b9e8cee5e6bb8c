"""The capture client's JACK process callback, a numba `@cfunc`: plays one buffer, records another.

Each cycle it copies the return port into the take buffer and the capture signal into the send
port at the same frame position, so the two stay sample-locked whatever the period. It also checks
that JACK ran it in every cycle (`jack_last_frame_time` advances by exactly the last period
otherwise). Everything it touches is a preallocated array reached through the descriptor below:
no allocation, no locks, no Python object (docs/realtime.md explains why the player does the same).
"""

from __future__ import annotations

import numpy as np
from numba import carray, cfunc, njit, types

from engine.realtime.libjack import jack_last_frame_time, jack_port_get_buffer
from engine.realtime.native import acquire_fence, as_pointer, release_fence

# descriptor (int64): Python fills the addresses and lengths before activation and sets ARMED once
# the ports are connected; the callback owns the rest
SEND_PORT, RETURN_PORT, CLIENT = 0, 1, 2
PLAY, PLAY_LENGTH, TAKE, TAKE_LENGTH = 3, 4, 5, 6
ARMED = 7
POSITION = 8  # frames played and recorded so far (published after the samples)
CYCLES = 9  # armed cycles run
LAST_FRAME_TIME, LAST_NFRAMES = 10, 11
GAPS, GAP_FRAMES, FIRST_GAP_AT = 12, 13, 14  # skipped cycles: how often, how many frames, take position
DESCRIPTOR_SIZE = 16


@njit(cache=True, error_model="numpy")
def capture_block(d, send, ret, nframes, frame_time):
    """One cycle: record `ret` and play the signal into `send` at the take's position."""
    armed = d[ARMED]
    acquire_fence()  # the buffers' addresses and lengths are read only after the flag that published them
    position, total = d[POSITION], d[TAKE_LENGTH]
    if armed == 0 or position >= total:
        for t in range(nframes):
            send[t] = 0.0
        return
    if d[CYCLES] > 0:
        lost = (frame_time - d[LAST_FRAME_TIME] - d[LAST_NFRAMES]) & 0xFFFFFFFF  # jack_nframes_t wraps
        if lost != 0:
            if d[GAPS] == 0:
                d[FIRST_GAP_AT] = position
            d[GAPS] += 1
            d[GAP_FRAMES] += lost
    d[LAST_FRAME_TIME], d[LAST_NFRAMES] = frame_time, nframes
    d[CYCLES] += 1
    take = carray(as_pointer(d[TAKE]), total, np.float32)
    play = carray(as_pointer(d[PLAY]), d[PLAY_LENGTH], np.float32)
    n = min(nframes, total - position)
    for t in range(n):  # read the return before writing the send: JACK may hand both the same memory
        take[position + t] = ret[t]
    for t in range(nframes):
        send[t] = play[position + t] if position + t < play.size else 0.0
    release_fence()  # the samples are visible before the position that covers them
    d[POSITION] = position + n


@cfunc(types.int32(types.uint32, types.voidptr), cache=True, error_model="numpy")
def jack_capture(nframes, arg):
    d = carray(arg, DESCRIPTOR_SIZE, np.int64)
    send = carray(jack_port_get_buffer(as_pointer(d[SEND_PORT]), nframes), nframes, np.float32)
    ret = carray(jack_port_get_buffer(as_pointer(d[RETURN_PORT]), nframes), nframes, np.float32)
    capture_block(d, send, ret, nframes, np.int64(jack_last_frame_time(as_pointer(d[CLIENT]))))
    return 0
