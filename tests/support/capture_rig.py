"""Helpers for the capture tests on a private dummy jackd: the simulated rig (interface + device), the
user's rig calibration file in a temporary folder, and freewheel mode for takes.

The rig is a JACK client in this process (JACK-Client's Python callback: fine for a test fixture): it
copies its input to its output `delay` frames later, like a loop cable through an interface with that
much converter latency, through `shape` (the device). Takes run in freewheel mode, where JACK waits for
every client, so the shared machine's load cannot cause xruns.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import numpy as np
import pytest

from ampemu_tools.latency import SoftwareLoopback
from support.jack import ServerEnv, require_jackd

RATE, PERIOD = 48000, 64


def device(x: np.ndarray) -> np.ndarray:
    """The simulated device: an asymmetric soft clipper (float32 in, float32 out)."""
    return (0.6 * np.tanh(4.0 * x + 0.2) - np.float32(0.6 * np.tanh(0.2))).astype(np.float32)


def esr(y: np.ndarray, expected: np.ndarray) -> float:
    return float(np.sum((y - expected) ** 2, dtype=np.float64) / np.sum(expected ** 2, dtype=np.float64))


class Rig(SoftwareLoopback):
    """Interface + device: the loopback's delayed copy through `shape`; optionally one block zeroed
    (`drop_after` frames after the first sound it hears) or one callback stalled. `on_heard(frames)`
    is called in each cycle from the first sound on."""

    def __init__(self, delay, shape=None, drop_after=None, stall_after=None, on_heard=None):
        super().__init__(delay, name="rig")
        self.shape, self.drop_after, self.stall_after, self.on_heard = shape, drop_after, stall_after, on_heard
        self.heard = None  # frames since the first nonzero input

    def _process(self, frames):
        if self.heard is None and np.any(self.inport.get_array()):
            self.heard = 0
        super()._process(frames)
        out = self.outport.get_array()
        if self.shape is not None:
            out[:] = self.shape(out)
        if self.heard is not None:
            if self.drop_after is not None and self.heard <= self.drop_after < self.heard + frames:
                out[:] = 0.0
            if self.stall_after is not None and self.heard <= self.stall_after < self.heard + frames:
                time.sleep(0.05)  # 35 periods: the server must report an xrun
            if self.on_heard is not None:
                self.on_heard(frames)
            self.heard += frames


def serve():
    """Body of a module-scoped server fixture: a private dummy jackd at RATE and PERIOD."""
    from ampemu_tools.dummy_server import DummyJackServer

    require_jackd()
    with DummyJackServer(rate=RATE, period=PERIOD) as server, ServerEnv(server):
        yield server


def user_config(tmp_path, monkeypatch):
    """An empty user config folder for this test; returns where the rig calibration file goes."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config" / "ampemu" / "capture-rigs.json"


class Freewheel:
    """JACK's freewheel mode for the duration of a block: cycles run as fast as the clients allow and
    the server waits for each of them (no xruns)."""

    def __enter__(self):
        import jack

        self.client = jack.Client("freewheel", no_start_server=True)
        self.on = threading.Event()
        self.client.set_freewheel_callback(lambda starting: self.on.set() if starting else self.on.clear())
        self.client.activate()
        self.client.set_freewheel(True)  # asynchronous: wait for the server to switch
        assert self.on.wait(10), "the server did not enter freewheel mode"

    def __exit__(self, *exc):
        self.client.set_freewheel(False)
        self.client.deactivate()
        self.client.close()


class Opened:
    """Hands the code under test a recorder opened beforehand and leaves closing it to the test."""

    def __init__(self, recorder):
        self.recorder = recorder

    def __enter__(self):
        return self.recorder

    def __exit__(self, *exc):
        pass


@contextmanager
def freewheeling_recorder():
    """Freewheel mode, with `DuplexRecorder()` handing out one client opened before it. JACK2 can neither
    activate a client while freewheeling nor close one without stalling the next freewheel cycle, so the
    recorder is opened before and closed after."""
    from engine.capture import recorder

    client = recorder.DuplexRecorder()
    try:
        with pytest.MonkeyPatch.context() as patch, Freewheel():
            patch.setattr(recorder, "DuplexRecorder", lambda: Opened(client))
            yield
    finally:
        client.close()
