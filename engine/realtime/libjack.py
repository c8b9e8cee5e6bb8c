"""libjack's real-time-safe functions, declared for compiled callbacks (the player's and the capture's).

libjack is loaded into the process and its symbols made visible to numba's linker; the functions are
`ExternalFunction`s bound by symbol name, which keeps every function that calls them cacheable (a
ctypes function object would bake its address into the code and disable numba's cache).
"""

from __future__ import annotations

import ctypes.util

import llvmlite.binding
from numba import types

from engine.errors import AmpemuError

_LIBJACK = ctypes.util.find_library("jack")
if _LIBJACK is None:
    raise AmpemuError("libjack is not installed: install JACK (Debian: apt-get install --no-install-recommends "
                      "jackd2) or use --backend sounddevice")
llvmlite.binding.load_library_permanently(_LIBJACK)

jack_port_get_buffer = types.ExternalFunction("jack_port_get_buffer", types.voidptr(types.voidptr, types.uint32))
jack_midi_get_event_count = types.ExternalFunction("jack_midi_get_event_count", types.uint32(types.voidptr))
jack_midi_event_get = types.ExternalFunction("jack_midi_event_get",
                                             types.int32(types.voidptr, types.voidptr, types.uint32))
# the frame time at the start of the current cycle: consecutive cycles differ by their length unless
# cycles were skipped
jack_last_frame_time = types.ExternalFunction("jack_last_frame_time", types.uint32(types.voidptr))
