"""`DuplexRecorder`: a JACK client that plays a signal to one port and records another, sample-locked.

The audio runs in the compiled `jack_capture` callback (engine/capture/callback.py), registered with
libjack as the player's is (docs/realtime.md); Python only opens the client, connects, arms the
callback and watches its position. JACK's xrun notifications (its non-real-time thread) are counted
with the take position they came at; the callback itself counts cycles JACK skipped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from engine.capture import callback as cb
from engine.errors import AmpemuError
from engine.realtime.jack_host import load_jack, quiet_libjack, open_client, resolve_ports
from engine.realtime.memory import lock_working_set
from engine.realtime.native import address, load_acquire, publish

POLL_S = 0.1
NO_JACK = ("cannot connect to a JACK server (is jackd running, as this user, with the JACK_DEFAULT_SERVER name you "
           "expect?); start it on the interface, e.g. `jackd -d alsa -r 48000 -p 256 -n 2`")


@dataclass
class Take:
    recorded: np.ndarray  # float32: what came back, from the first sample played
    sample_rate: int
    period: int
    xruns_at: list[int] = field(default_factory=list)  # take frames at which JACK reported an xrun
    skipped_cycles: int = 0  # cycles JACK did not run us in (frame time jumped)
    skipped_frames: int = 0
    first_skip_at: int = -1  # take frame


class DuplexRecorder:
    """Open with `with DuplexRecorder() as rec:`; `rec.take(...)` as often as needed."""

    def __init__(self, name: str = "ampemu-capture"):
        self.jack = jack = load_jack()
        self.libjack_messages = quiet_libjack(jack)
        self.client = open_client(jack, name, NO_JACK)
        self.active, self.shutdown_reason = False, ""
        try:
            self.send = self.client.outports.register("send")
            self.ret = self.client.inports.register("return")
            self.descriptor = d = np.zeros(cb.DESCRIPTOR_SIZE, np.int64)
            self.buffers = ()  # the latest take's play and take arrays: alive as long as the callback may see them
            ffi = jack._ffi
            d[cb.SEND_PORT], d[cb.RETURN_PORT], d[cb.CLIENT] = (int(ffi.cast("uintptr_t", obj._ptr))
                                                                for obj in (self.send, self.ret, self.client))
            self._xruns: list[int] = []
            self.client.set_xrun_callback(self._on_xrun)
            self.client.set_shutdown_callback(self._on_shutdown)
            err = jack._lib.jack_set_process_callback(self.client._ptr, ffi.cast("JackProcessCallback", cb.jack_capture.address),
                                                      ffi.cast("void *", address(self.descriptor)))
            if err:
                raise AmpemuError(f"JACK refused the process callback (error {err})")
            # active from the start (silent until armed): JACK2 cannot activate a client in freewheel mode
            self.client.activate()
            self.active = True
        except BaseException:
            self.close()
            raise

    @property
    def sample_rate(self) -> int:
        return self.client.samplerate

    @property
    def period(self) -> int:
        return self.client.blocksize

    def take(self, signal: np.ndarray, frames: int, send: str, ret: str, on_progress=None) -> Take:
        """Play `signal` into port `send` while recording `frames` frames from port `ret` (frames >=
        signal length: the rest is the rig's latency and the device ringing out). `on_progress(done,
        recorded)` is called about ten times a second from this thread."""
        resolve_ports(self.client, [send], is_output=False)
        resolve_ports(self.client, [ret], is_output=True)
        play = np.ascontiguousarray(signal, np.float32)
        recorded = np.empty(max(frames, play.size), np.float32)
        recorded.fill(0.0)  # touch every page now, not in the callback
        # best effort: without the limit a page fault may still cost a cycle. Only what the compiled
        # callback touches: the phone page records inside the engine's process, whose memory stays as
        # `ampemu run` locked it (docs/realtime.md)
        lock_working_set([self.descriptor, play, recorded])
        d = self.descriptor
        self.buffers = (play, recorded)
        d[cb.PLAY], d[cb.PLAY_LENGTH] = address(play), play.size
        d[cb.TAKE], d[cb.TAKE_LENGTH] = address(recorded), recorded.size
        for word in (cb.ARMED, cb.POSITION, cb.CYCLES, cb.GAPS, cb.GAP_FRAMES):
            d[word] = 0
        d[cb.FIRST_GAP_AT] = -1
        self._xruns = []
        timeout = 1.5 * recorded.size / self.sample_rate + 10.0  # the server runs at least in real time
        try:
            # send first: in a software loop JACK then delays the closing (return) connection by one cycle,
            # the same way at calibration and at every take
            self.client.connect(self.send, send)
            self.client.connect(ret, self.ret)
            publish(d, cb.ARMED, 1)
            deadline = time.monotonic() + timeout
            while (done := load_acquire(d, cb.POSITION)) < recorded.size:
                if self.shutdown_reason:
                    raise AmpemuError(f"the JACK server shut down during the take ({self.shutdown_reason}); "
                                      "nothing was written")
                if time.monotonic() > deadline:
                    raise AmpemuError(f"JACK stopped running the capture client ({done} of {recorded.size} frames "
                                      f"after {timeout:.0f} s); is the server stuck? nothing was written")
                if on_progress:
                    on_progress(done, recorded[:done])
                time.sleep(POLL_S)
            if on_progress:
                on_progress(recorded.size, recorded)
        finally:
            publish(d, cb.ARMED, 0)
            if not self.shutdown_reason:
                self.send.disconnect()
                self.ret.disconnect()
        return Take(recorded, self.sample_rate, self.period, list(self._xruns), int(d[cb.GAPS]),
                    int(d[cb.GAP_FRAMES]), int(d[cb.FIRST_GAP_AT]))

    def close(self) -> None:
        try:
            if self.active and not self.shutdown_reason:
                self.client.deactivate()
            self.client.close()
        finally:
            self.active = False
            self.jack.set_error_function(None)  # libjack keeps the hooks after the client is gone
            self.jack.set_info_function(None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- JACK notifications (non-real-time thread; must not raise) ---------------------------------
    def _on_xrun(self, delay_us) -> None:
        d = self.descriptor
        if d[cb.ARMED] and d[cb.POSITION] < d[cb.TAKE_LENGTH]:
            self._xruns.append(int(d[cb.POSITION]))

    def _on_shutdown(self, status, reason) -> None:
        self.shutdown_reason = reason or str(status) or "unknown reason"
