"""The real-time JACK host in a real JACK graph (private dummy jackd): exact output, MIDI, robustness."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from support.audio import guitar_like
from support.data import data_file
from support.jack import RATE, Rig, compile_host, seed_model_path, serve
from engine.models import load_model
from engine.realtime import channel as ch
from engine.render import render


@pytest.fixture(scope="module")
def server():
    yield from serve(RATE, period=64)


@pytest.fixture(scope="module")
def model():
    return load_model(seed_model_path())


@pytest.fixture
def engine(server, model):
    from engine.realtime.jack_host import JackHost

    host = JackHost([model], name="engine", n_outs=2)
    yield host
    host.close()


def offline(signal, start_frame, input_gain, output_gain):
    """The offline render of what the engine saw: silence since reset, then the signal, with gains.

    Uses its own copy of the model: the engine's copy keeps running in the callback.
    """
    model = load_model(seed_model_path())
    x = np.concatenate([np.zeros(start_frame, np.float32), signal * np.float32(input_gain)])
    gain = np.float32(output_gain * ch.db_to_gain(model.output_gain_db))
    return render(model, x, block=64)[start_frame:] * gain


def test_freewheel_recording_equals_offline_render_exactly(engine):
    signal = guitar_like(1.5, RATE, seed=3)
    engine.channel.set_input_gain_db(-3.0)
    engine.channel.set_output_gain_db(2.5)
    engine.start(connect=False)
    rig = Rig(engine, signal)
    rig.run(freewheel=True)
    expected = offline(signal, rig.start_frame, ch.db_to_gain(-3.0), ch.db_to_gain(2.5))
    assert np.abs(expected).max() > 0.05  # a real signal, not silence equal to silence
    for output in range(2):  # every output carries the same signal
        np.testing.assert_array_equal(rig.recording(output), expected)
    assert engine.channel.stats[ch.OVERSIZE] == 0


def test_bypass_passes_input_and_midi_reaches_ring_with_frame_stamps(engine):
    signal = guitar_like(0.3, RATE, seed=5)
    engine.channel.set_bypass(True)
    engine.start(connect=False)
    messages = [(10, bytes([0xC0, 5])), (20, bytes([0xB0, 7, 100])), (30, bytes([0x90, 60, 99]))]
    rig = Rig(engine, signal, midi=messages)
    rig.run(freewheel=True)
    np.testing.assert_array_equal(rig.recording(0), signal)
    events, position = engine.channel.read_midi(0)
    assert position == 3 and engine.channel.stats[ch.MIDI_EVENTS] == 3
    assert events == [(rig.start_frame + offset, message.ljust(3, b"\0")) for offset, message in messages]


def test_busy_python_thread_neither_cuts_callbacks_nor_adds_xruns(engine, server):
    engine.start(connect=True)  # auto-connect to the dummy system ports
    period = engine.blocksize / engine.samplerate

    def window(seconds):
        before, started = engine.channel.snapshot(), time.monotonic()
        time.sleep(seconds)
        after, elapsed = engine.channel.snapshot(), time.monotonic() - started
        return after.since(before), elapsed / period

    time.sleep(0.3)
    idle, idle_expected = window(1.5)
    stop = threading.Event()

    def spin():  # pure-Python work: holds the GIL except at the interpreter's switch points
        while not stop.is_set():
            sum(i * i for i in range(10_000))

    thread = threading.Thread(target=spin)
    thread.start()
    try:
        busy, busy_expected = window(1.5)
    finally:
        stop.set()
        thread.join()
    # A Python process callback doing the same work measured 866 of 2067 blocks (42 %) and 1025
    # xruns in 3 s here. Without real-time scheduling (not root, no rtprio limit) the engine's thread
    # is an ordinary thread that the OS shares with the busy one (measured 90 % of the blocks, and
    # jackd's own timer xruns follow the load): only a looser callback count is meaningful there.
    share = 0.9 if server.realtime_granted else 0.75
    assert idle.blocks >= share * idle_expected
    assert busy.blocks >= share * busy_expected, (busy.blocks, busy_expected)
    if server.realtime_granted:  # the slack of a few xruns is for the shared machine, not the engine
        assert busy.xruns <= idle.xruns + 5, (busy.xruns, idle.xruns)


ALLOCATION_PROBE = """
import sys, time
import numpy as np
from numba import njit
from numba.core.runtime import rtsys
from engine.models import load_model
from engine.realtime.jack_host import JackHost

@njit
def allocates(n):
    return np.zeros(n).sum()

import os, tempfile
import soundfile as sf
from engine.chain.chain import attach
from engine.chain.settings import ChainSettings

# the model plays with the whole chain: gate, tone stack, a 200 ms cabinet IR, high-pass
ir = os.path.join(tempfile.mkdtemp(), "cab.wav")
sf.write(ir, (0.1 * np.random.default_rng(0).standard_normal(8820) * np.exp(-np.arange(8820) / 400)).astype(np.float32),
         44100)
settings = ChainSettings(ir=ir, gate_db=-70.0, bass=2.0, mid=-2.0, treble=1.0)
# slot 1: a 48 kHz capture on this 44.1 kHz server plays through the resampler too
models = [attach(load_model(path), settings) for path in sys.argv[1:]]
host = JackHost(models, n_outs=2)
assert models[1].resampler is not None
host.channel.set_input_gain_db(1.0)
host.start(connect=True)
time.sleep(0.3)
counts = []
for slot in range(len(models)):
    host.channel.select_slot(slot)
    time.sleep(0.2)
    before, blocks = rtsys.get_allocation_stats(), host.channel.stats[0]
    time.sleep(1.0)
    after, blocks = rtsys.get_allocation_stats(), host.channel.stats[0] - blocks
    counts += [after.alloc - before.alloc, after.mi_alloc - before.mi_alloc, blocks]
allocates(10)  # proves the counters see an allocation when there is one
control = rtsys.get_allocation_stats()
host.close()
print(*counts, control.alloc - after.alloc)
"""


def test_callback_allocates_nothing(server):
    """numba's runtime counts every allocation compiled code makes (NUMBA_NRT_STATS=1); each model
    plays with its whole signal chain (gate, tone stack, cabinet IR, high-pass), the second (a 48 kHz
    capture) through the resampler as well."""
    import subprocess
    import sys

    from engine.kernels.dispatch import GATED_WAVENET, NAM_WAVENET

    env = dict(server.env, NUMBA_NRT_STATS="1")
    nam = str(data_file("models", "nam", "random_nano.nam"))
    compile_host(frozenset((GATED_WAVENET, NAM_WAVENET)))
    result = subprocess.run([sys.executable, "-c", ALLOCATION_PROBE, seed_model_path(), nam], env=env,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    *counts, control = map(int, result.stdout.split())
    assert control >= 1
    for allocations, meminfos, blocks in (counts[:3], counts[3:]):
        assert blocks > 300  # about 690 callbacks ran in each window
        assert allocations == 0 and meminfos == 0


def test_buffer_size_change_outside_the_callback_keeps_output_exact(engine, server):
    """JACK goes from 64 to 256 frames while the engine runs; nothing is reallocated (state is sized
    for the largest block) and the output is still exactly the offline render across the change."""
    import jack

    engine.start(connect=False)
    admin = jack.Client("admin", no_start_server=True)
    try:
        time.sleep(0.2)
        admin.blocksize = 256
        deadline = time.monotonic() + 10
        while engine.channel.stats[ch.LAST_NFRAMES] != 256 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert engine.channel.stats[ch.LAST_NFRAMES] == 256
        signal = guitar_like(0.5, RATE, seed=11)
        rig = Rig(engine, signal)
        rig.run(freewheel=True)
        np.testing.assert_array_equal(rig.recording(0), offline(signal, rig.start_frame, 1.0, 1.0))
        assert engine.channel.stats[ch.OVERSIZE] == 0
    finally:
        admin.blocksize = 64  # the module's server is shared with the other tests
        admin.close()


def test_nan_and_inf_input_play_as_silence_and_the_sound_goes_on(engine):
    """A glitching interface's NaN/Inf samples reach the JACK callback: they play as zero samples
    (the recording equals the offline render of the cleaned signal, bit for bit) and are counted."""
    clean = guitar_like(0.5, RATE, seed=9)
    dirty = clean.copy()
    for at, value in ((300, np.nan), (5000, np.inf), (12000, -np.inf)):
        dirty[at], clean[at] = value, 0.0
    engine.start(connect=False)
    rig = Rig(engine, dirty)
    rig.run(freewheel=True)
    recorded = rig.recording(0)
    assert np.all(np.isfinite(recorded))
    np.testing.assert_array_equal(recorded, offline(clean, rig.start_frame, 1.0, 1.0))
    assert engine.channel.stats[ch.NON_FINITE] == 3
