"""Helpers for the JACK tests: a private dummy jackd per test module, the seed model's path, and a
player/recorder rig around an engine.

The server runs at 44.1 kHz because the shipped reference models are 44.1 kHz captures.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading

import numpy as np
import pytest

from support.data import REPO, data_file
from engine.realtime.channel import FRAMES

SEED_MODEL = ("models", "seed-profiles", "Klon-Centaur.json")
RATE = 44100


def require_jackd() -> None:
    if shutil.which("jackd") is None:
        pytest.fail("jackd is not installed: scripts/bootstrap.sh installs jackd2 (apt-get install "
                    "--no-install-recommends jackd2)")


def compile_host(families: frozenset | None = None) -> None:
    """Compile the callback here once, so child processes load it from numba's cache in a second:
    for `families` (kernel ids; default: the seed models' gated WaveNet)."""
    from engine.kernels.dispatch import GATED_WAVENET
    from engine.realtime.jack_host import JackHost

    JackHost.compile_callbacks(families or frozenset((GATED_WAVENET,)))


def start_server(rate: int = RATE, period: int = 64):
    from ampemu_tools.dummy_server import DummyJackServer

    require_jackd()
    compile_host()
    return DummyJackServer(rate=rate, period=period).start()


def serve(rate: int = RATE, period: int = 64):
    """Body of a module-scoped server fixture: a private jackd this process's clients talk to."""
    srv = start_server(rate, period=period)
    try:
        with ServerEnv(srv):
            yield srv
    finally:
        srv.stop()


class ServerEnv:
    """Point this process's JACK clients at `server` (libjack reads JACK_DEFAULT_SERVER at open)."""

    def __init__(self, server):
        self.server = server

    def __enter__(self):
        self.saved = {k: os.environ.get(k) for k in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")}
        os.environ.update(JACK_DEFAULT_SERVER=self.server.name, JACK_NO_START_SERVER="1")
        return self.server

    def __exit__(self, *exc):
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def ampemu(*args: str, env: dict, timeout: float = 120.0) -> subprocess.CompletedProcess:
    """Run the console entry point in a child process (what a user or systemd runs)."""
    compile_host()
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


def seed_model_path() -> str:
    return str(data_file(*SEED_MODEL))


class Rig:
    """A player client (audio + MIDI out) and a recorder client around the engine.

    Separate clients keep the graph a chain player -> engine -> recorder, so in each cycle the engine
    runs after the player and before the recorder; the player reads the engine's frame counter
    (frames done before this cycle) to learn where in the engine's timeline its signal starts.
    """

    def __init__(self, engine, signal: np.ndarray, midi: list[tuple[int, bytes]] = (), midi_per_block=None):
        import jack

        self.engine, self.signal, self.midi = engine, signal, list(midi)
        self.midi_per_block = midi_per_block  # optional: block index -> [(offset, message)] for every block
        self.player = jack.Client("player", no_start_server=True)
        self.recorder = jack.Client("recorder", no_start_server=True)
        self.out = self.player.outports.register("out")
        self.midi_out = self.player.midi_outports.register("midi_out")
        self.ins = [self.recorder.inports.register(f"in_{i}") for i in range(len(engine.outports))]
        self.armed = threading.Event()
        self.freewheeling = threading.Event()
        self.done = threading.Event()
        self.start_frame = None  # engine frames processed before the signal's first sample
        self.position = 0
        self.chunks = []  # (engine frame of the chunk's first sample, samples per output)
        self.player.set_process_callback(self._play)
        self.recorder.set_process_callback(self._record)
        self.player.set_freewheel_callback(lambda on: self.freewheeling.set() if on else self.freewheeling.clear())

    def _play(self, frames):
        buffer = self.out.get_array()
        self.midi_out.clear_buffer()
        if not self.armed.is_set() or self.position >= self.signal.size:
            buffer[:] = 0.0
            if self.armed.is_set():
                self.done.set()
            return
        if self.start_frame is None:
            self.start_frame = int(self.engine.channel.stats[FRAMES])
            for offset, message in self.midi:  # sent only now: events before connections are lost
                self.midi_out.write_midi_event(offset, message)
        if self.midi_per_block:
            for offset, message in self.midi_per_block(self.position // frames):
                self.midi_out.write_midi_event(offset, message)
        chunk = self.signal[self.position:self.position + frames]
        buffer[:chunk.size] = chunk
        buffer[chunk.size:] = 0.0
        self.position += frames

    def _record(self, frames):
        if self.start_frame is None:
            return
        engine_frame = int(self.engine.channel.stats[FRAMES]) - frames  # the engine already ran
        self.chunks.append((engine_frame, [bytes(p.get_buffer()) for p in self.ins]))

    def run(self, freewheel: bool, timeout: float = 60.0):
        self.player.activate()
        self.recorder.activate()
        self.player.connect(self.out, "engine:in")
        self.player.connect(self.midi_out, "engine:midi_in")
        for port, source in zip(self.ins, self.engine.outports):
            self.recorder.connect(source.name, port)
        if freewheel:
            self.player.set_freewheel(True)  # asynchronous: arm only once the server has switched
            assert self.freewheeling.wait(10), "the server did not enter freewheel mode"
        try:
            self.armed.set()  # connections exist now
            assert self.done.wait(timeout), "the signal did not play through in time"
        finally:
            if freewheel:
                self.player.set_freewheel(False)
            self.player.deactivate()
            self.recorder.deactivate()
            self.player.close()
            self.recorder.close()

    def recording(self, output: int) -> np.ndarray:
        """What engine output `output` produced for the signal, aligned with its first sample."""
        out = np.full(self.signal.size, np.nan, np.float32)
        for frame, buffers in self.chunks:
            data = np.frombuffer(buffers[output], np.float32)
            start = frame - self.start_frame
            lo, hi = max(start, 0), min(start + data.size, out.size)
            if hi > lo:
                out[lo:hi] = data[lo - start:hi - start]
        return out
