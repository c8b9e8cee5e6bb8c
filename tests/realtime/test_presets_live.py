"""Presets in a real JACK graph (private dummy jackd, freewheel): a Program Change at a known frame
equals the offline reference, no click, a storm of switches, and `ampemu run --presets --systemd`."""

from __future__ import annotations

import os
import signal as signals
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from support.data import REPO
from support.audio import guitar_like
from support.jack import RATE, Rig, compile_host, serve
from support.presets import max_step, played, seed, slot_model, switch_reference, write_bank

from engine.chain.settings import ChainSettings
from engine.presets.bank import load_bank
from engine.presets.live import Housekeeper, configure, load_presets
from engine.presets.loudness import loudness_db, matching_gain_db
from engine.realtime import channel as ch
from engine.realtime.channel import db_to_gain

FADE_MS = 20
BANK_CHAIN = ChainSettings()  # the bank sets no chain keys: every preset plays the default chain
PRESETS = [("Klon", "Klon-Centaur", 2.0, -1.0, 3), ("Plexi", "Marshall-JMP-Plexi-1968", -2.0, 1.0, 9),
           ("Tweed", "Fender-Tweed-Deluxe", 0.0, 0.0, 11)]


@pytest.fixture(scope="module")
def server():
    yield from serve(RATE, period=64)


def bank_of(tmp_path, curve):
    return load_bank(write_bank(tmp_path, PRESETS, crossfade_ms=FADE_MS, crossfade_curve=curve,
                                target_loudness_db=-20.0))


def gains(preset):
    """A preset's linear (input, output) gains per the documented level matching, measured separately."""
    _, name, gain_in, gain_out, _ = preset
    level = matching_gain_db(loudness_db(slot_model(seed(name), BANK_CHAIN)), -20.0)
    return db_to_gain(gain_in), db_to_gain(level + gain_out)


def live_engine(loaded, start=0):
    from engine.realtime.jack_host import JackHost

    host = JackHost(loaded.models, name="engine", n_outs=1)
    configure(host.channel, loaded, RATE, start)
    host.start(connect=False)
    return host


def test_program_change_at_a_frame_equals_offline_reference_without_click(server, tmp_path):
    loaded = load_presets(bank_of(tmp_path, "equal-power"), say=lambda line: None)
    signal = guitar_like(1.0, RATE, seed=8)
    offset = 37
    host = live_engine(loaded)
    try:
        rig = Rig(host, signal, midi=[(offset, bytes([0xC0, 9]))])  # program 9 -> Plexi
        rig.run(freewheel=True)
    finally:
        host.close()
    recorded = rig.recording(0)
    x = np.concatenate([np.zeros(rig.start_frame, np.float32), signal])
    switch = rig.start_frame + offset
    old, new = ((seed(PRESETS[i][1]), *gains(PRESETS[i])) for i in (0, 1))
    fade = round(FADE_MS * RATE / 1000)
    expected = switch_reference(x, switch, old, new, fade, "equal-power", BANK_CHAIN)[rig.start_frame:]
    assert np.abs(expected).max() > 0.05
    np.testing.assert_array_equal(recorded, expected)
    # click detector: largest step around the switch vs the same passage played by either model alone
    lo, hi = offset, offset + fade + 2000
    alone = [played(spec[0], x, spec[1], spec[2], BANK_CHAIN)[rig.start_frame:][lo:hi] for spec in (old, new)]
    normal = max(max_step(a) for a in alone)
    print(f"click detector: max step {max_step(recorded[lo:hi]):.4f} with the switch, {normal:.4f} without")
    assert max_step(recorded[lo:hi]) <= 1.1 * normal


def test_storm_of_program_changes_every_block(server, tmp_path):
    loaded = load_presets(bank_of(tmp_path, "equal-gain"), say=lambda line: None)
    signal = guitar_like(10.0, RATE, seed=9)
    rng = np.random.default_rng(1)
    programs = [3, 9, 11]
    sent = []

    def every_block(index):
        sent.append(programs[int(rng.integers(0, 3))])
        return [(int(rng.integers(0, 64)), bytes([0xC0, sent[-1]]))]

    host = live_engine(loaded)
    keeper = Housekeeper(host.channel).start()
    try:
        rig = Rig(host, signal, midi_per_block=every_block)
        rig.run(freewheel=True, timeout=120)
        time.sleep(0.3)  # a few real-time blocks: the last request's fade runs and ends
        recorded = rig.recording(0)
        voice = host.channel.voice
        assert voice[ch.SELECTED] == programs.index(sent[-1])
        assert voice[ch.CURRENT] == voice[ch.SELECTED] and voice[ch.FADING_FROM] == ch.NONE
        fades, waits = host.channel.stats[ch.FADES], host.channel.stats[ch.WAITS]
    finally:
        keeper.close()
        host.close()
    assert np.isfinite(recorded).all()
    x = np.concatenate([np.zeros(rig.start_frame, np.float32), signal])
    peaks = [np.abs(played(seed(p[1]), x, *gains(p), BANK_CHAIN)).max() for p in PRESETS]
    print(f"storm: {len(sent)} program changes, {fades} fades, {waits} blocks waited for a reset, "
          f"peak {np.abs(recorded).max():.4f}, loudest preset alone {max(peaks):.4f}")
    assert fades > 100
    # A voice switched in mid-note starts from its reset state, so it may peak a little over the same preset
    # played from the start (0.11 % once); voices summed instead of crossfaded would reach up to twice.
    assert np.abs(recorded).max() <= max(peaks) * 1.02


class Listener:
    """A stand-in for systemd: collects (time, message) from a notify socket on a thread."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.05)
        self.messages, self.running = [], True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                self.messages.append((time.monotonic(), self.sock.recv(200).decode()))
            except socket.timeout:
                pass

    def between(self, start, end):
        return [m for t, m in self.messages if start <= t < end]

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()


def test_run_presets_systemd_notify_watchdog_and_saved_preset(server, tmp_path):
    """Stops the module's server for 2 s (SIGSTOP) to hang the graph, then lets it go on."""
    import jack

    compile_host()
    listener = Listener(tmp_path / "notify")
    bank = write_bank(tmp_path, PRESETS[:2], crossfade_ms=FADE_MS)
    state = tmp_path / "state"
    state.mkdir()
    (state / "current-preset.json").write_text('{"preset": "Plexi"}')
    env = dict(server.env, NOTIFY_SOCKET=str(tmp_path / "notify"), WATCHDOG_USEC="400000",
               AMPEMU_STATE_DIR=str(state))
    child = subprocess.Popen([sys.executable, "-m", "engine.cli", "run", "--presets", str(bank), "--systemd",
                              "--no-connect", "--duration", "60"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not listener.messages and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.05)
        assert listener.messages and listener.messages[0][1].startswith("READY=1"), child.poll()
        time.sleep(1.0)
        assert "WATCHDOG=1" in listener.between(0, time.monotonic())  # every 0.2 s while blocks advance
        os.kill(server.process.pid, signals.SIGSTOP)  # the graph hangs: the callback stops advancing
        hung = time.monotonic()
        time.sleep(2.0)
        os.kill(server.process.pid, signals.SIGCONT)
        assert listener.between(hung + 0.5, hung + 2.0) == []  # (0.5 s: a ping already in flight)
        time.sleep(1.0)
        assert "WATCHDOG=1" in listener.between(hung + 2.0, time.monotonic())
        client = jack.Client("pedal", no_start_server=True, servername=server.name)
        port = client.midi_outports.register("out")
        connected, sent = threading.Event(), []

        def process(frames):
            port.clear_buffer()
            if connected.is_set() and not sent:  # events written before the connection exists are lost
                port.write_midi_event(0, bytes([0xC0, 3]))  # program 3 -> Klon
                sent.append(1)

        client.set_process_callback(process)
        client.activate()
        client.connect(port, "ampemu:midi_in")
        time.sleep(0.1)
        connected.set()
        deadline = time.monotonic() + 10
        while '"Klon"' not in (state / "current-preset.json").read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        client.deactivate()
        client.close()
        child.send_signal(signals.SIGTERM)
        out, err = child.communicate(timeout=30)
        time.sleep(0.2)
    finally:
        if child.poll() is None:
            child.kill()
        listener.close()
    assert child.returncode == 0, err
    assert "playing preset 'Plexi'" in out and "preset: Klon" in out, out
    assert listener.messages[-1][1] == "STOPPING=1"
    assert (state / "current-preset.json").read_text() == '{"preset": "Klon"}'


SWITCHING_ALLOCATION_PROBE = """
import sys, time
from numba.core.runtime import rtsys
from engine.models import load_model
from engine.presets.live import Housekeeper
from engine.realtime.jack_host import JackHost

host = JackHost([load_model(p) for p in sys.argv[1:]], n_outs=1)
host.channel.set_crossfade(300, "equal-power")
host.start(connect=True)
keeper = Housekeeper(host.channel).start()
time.sleep(0.3)
before, blocks = rtsys.get_allocation_stats(), host.channel.stats[0]
for i in range(40):  # a switch every 25 ms: fades, releases, resets, waits
    host.channel.select_slot(i % 2)
    if i % 10 == 0:
        host.channel.set_bypass(i % 20 == 0)
    time.sleep(0.025)
after, blocks = rtsys.get_allocation_stats(), host.channel.stats[0] - blocks
fades = host.channel.stats[13]
keeper.close()
host.close()
print(after.alloc - before.alloc, after.mi_alloc - before.mi_alloc, blocks, fades)
"""


def test_switching_callback_allocates_nothing(server):
    """numba's runtime counts every allocation compiled code makes (NUMBA_NRT_STATS=1)."""
    env = dict(server.env, NUMBA_NRT_STATS="1")
    result = subprocess.run([sys.executable, "-c", SWITCHING_ALLOCATION_PROBE, str(seed(PRESETS[0][1])),
                             str(seed(PRESETS[1][1]))], env=env, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert result.returncode == 0, result.stderr
    allocations, meminfos, blocks, fades = map(int, result.stdout.split())
    assert blocks > 300 and fades >= 20
    assert allocations == 0 and meminfos == 0


def test_run_without_model_or_presets_plays_the_default_bank(server, tmp_path):
    config = tmp_path / "config" / "ampemu"
    config.mkdir(parents=True)
    write_bank(config, PRESETS[:1]).rename(config / "presets.toml")
    env = dict(server.env, XDG_CONFIG_HOME=str(tmp_path / "config"), AMPEMU_STATE_DIR=str(tmp_path / "state"))
    result = subprocess.run([sys.executable, "-m", "engine.cli", "run", "--no-connect", "--duration", "0.5"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"loading 1 presets from {config / 'presets.toml'}" in result.stdout
    assert "playing preset 'Klon'" in result.stdout
    assert "footswitches" not in result.stdout  # this bank has none: nothing to say


def test_run_with_no_bank_anywhere_is_one_line(tmp_path, monkeypatch, capsys):
    from engine.cli import main

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert main(["run"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "no such preset bank" in err and "presets.toml" in err
