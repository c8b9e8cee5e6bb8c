"""Round-trip latency through JACK: play clicks, record what comes back, find the delay by cross-correlation.

The path is whatever connects our output port to our input port: on a Pi, a cable from the
interface's output to its input (`system:playback_1` -> cable -> `system:capture_1`); without
hardware, `SoftwareLoopback`, a second JACK client that copies its input to its output `delay`
frames later (0 by default). A JACK graph loop is only closed across a cycle, so a software loop
measures one period plus `delay`: that is exact, and the tests check it.

The engine itself adds no latency (its models are causal and process each block in the same
callback: 0 samples); what a player feels is JACK's buffering (period x nperiods / rate) plus the
interface's converters and USB, which only a cable loop measures. The measuring client runs a
Python JACK-Client callback: fine for a measuring tool, not for playing (that is engine/realtime).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from engine.errors import AmpemuError
from engine.realtime.jack_host import load_jack, quiet_libjack
from engine.delay import MAX_LATENCY_S, click_train, find_delay


class SoftwareLoopback:
    """A JACK client that plays its input back `delay` frames later: the loop cable, in software."""

    def __init__(self, delay: int = 0, name: str = "ampemu-loopback"):
        jack = load_jack()
        self.client = jack.Client(name, no_start_server=True)
        self.inport = self.client.inports.register("in")
        self.outport = self.client.outports.register("out")
        self.line = np.zeros(delay + self.client.blocksize * 4, np.float32)  # holds delay + a period
        self.delay, self.filled = delay, delay  # the line starts with `delay` zeros queued
        self.client.set_process_callback(self._process)

    def _process(self, frames: int) -> None:
        self.line[self.filled:self.filled + frames] = self.inport.get_array()
        self.outport.get_array()[:] = self.line[:frames]
        self.line[:self.filled] = self.line[frames:self.filled + frames]  # keep the queued `delay` frames

    def __enter__(self):
        self.client.activate()
        return self

    def __exit__(self, *exc):
        self.client.deactivate()
        self.client.close()


@dataclass
class LatencyResult:
    frames: int  # measured round trip
    sample_rate: int
    period: int
    match: float  # normalised cross-correlation at the found lag
    per_click: list[int]  # each click's own lag (all equal on a clean loop)
    capture_latency: int | None  # JACK's latency ranges of the ports we used (what JACK thinks it adds)
    playback_latency: int | None

    @property
    def ms(self) -> float:
        return 1000.0 * self.frames / self.sample_rate


class _Recorder:
    """The measuring client's callback state: plays `signal`, records the same number of frames + margin."""

    def __init__(self, client, signal: np.ndarray, record_frames: int):
        self.signal = np.concatenate([signal, np.zeros(record_frames - signal.size + client.blocksize, np.float32)])
        self.recorded = np.zeros(self.signal.size, np.float32)
        self.position, self.frames_needed = 0, record_frames
        self.armed, self.done = False, threading.Event()  # armed once the ports are connected
        self.out = client.outports.register("out")
        self.inp = client.inports.register("in")
        client.set_process_callback(self.process)

    def process(self, frames: int) -> None:
        pos = self.position
        if not self.armed or pos + frames > self.signal.size:
            self.out.get_array()[:] = 0.0
            return
        self.recorded[pos:pos + frames] = self.inp.get_array()  # read before writing: ports may share memory
        self.out.get_array()[:] = self.signal[pos:pos + frames]
        self.position = pos + frames
        if self.position >= self.frames_needed:
            self.done.set()


def _port_latencies() -> dict[str, dict[str, int]]:
    """{port: {"capture": frames, "playback": frames}} as `jack_lsp -l` reports them (JACK-Client has no
    latency API); empty if jack_lsp is missing."""
    import re
    import shutil
    import subprocess

    tool = shutil.which("jack_lsp")
    if tool is None:
        return {}
    try:
        text = subprocess.run([tool, "-l"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    ports, current = {}, None
    for line in text.splitlines():
        found = re.match(r"\s+port (capture|playback) latency = \[ \d+ (\d+) \]", line)
        if found and current:
            ports[current][found.group(1)] = int(found.group(2))
        elif line and not line[0].isspace():
            current = line.strip()
            ports[current] = {}
    return ports


def measure_round_trip(output: str | None = None, input: str | None = None, loopback_delay: int | None = None,
                       clicks: int = 4, level: float = 0.5, timeout: float = 20.0) -> LatencyResult:
    """Connect our output to `output` and `input` to our input (default: the first physical ports), or to
    a SoftwareLoopback when `loopback_delay` is given, play clicks and find them in what comes back."""
    jack = load_jack()
    quiet_libjack(jack)
    try:
        client = jack.Client("ampemu-latency", no_start_server=True)
    except jack.JackOpenError:
        raise AmpemuError("cannot connect to a JACK server (is jackd running, as this user?); "
                          "start it, e.g. `jackd -d alsa -r 48000 -p 64 -n 2`") from None
    rate, period = client.samplerate, client.blocksize
    max_lag = int(MAX_LATENCY_S * rate)
    spacing = max(max_lag + period, int(0.1 * rate))  # one click in flight at a time
    signal = click_train(clicks, spacing, lead=4 * period, level=level)
    recorder = _Recorder(client, signal, signal.size + max_lag)
    loopback = SoftwareLoopback(loopback_delay) if loopback_delay is not None else None
    try:
        client.activate()
        if loopback is not None:
            loopback.__enter__()
            # ours -> loopback first: the closing connection is the one JACK delays by a cycle
            client.connect(recorder.out, loopback.inport)
            client.connect(loopback.outport, recorder.inp)
            send, receive = loopback.inport, loopback.outport
        else:
            send, receive = _physical(client, jack, output, is_input=True), _physical(client, jack, input, is_input=False)
            client.connect(recorder.out, send)
            client.connect(receive, recorder.inp)
        recorder.armed = True
        if not recorder.done.wait(timeout):
            raise AmpemuError(f"JACK did not run our callback for {timeout:.0f} s (is the server stuck or stopped?)")
        latencies = {} if loopback else _port_latencies()
        capture = latencies.get(receive.name, {}).get("capture")
        playback = latencies.get(send.name, {}).get("playback")
    finally:
        client.deactivate()
        if loopback is not None:
            loopback.__exit__()
        client.close()
    received = recorder.recorded[:recorder.frames_needed]
    if np.abs(received).max() < 1e-4:
        raise AmpemuError("no click came back: connect the interface's output to its input with a cable "
                          "(and check the ports and gains), or use --loopback software to test without hardware")
    lag, match = find_delay(signal, received, max_lag)
    per_click = [find_delay(signal[start:start + spacing], received[start:start + spacing + max_lag], max_lag)[0]
                 for start in range(4 * period, signal.size, spacing)]
    return LatencyResult(lag, rate, period, match, per_click, capture, playback)


def _physical(client, jack, name: str | None, is_input: bool):
    """The named port, or the first physical playback (is_input: a port we send to) or capture port."""
    if name:
        try:
            return client.get_port_by_name(name)
        except jack.JackError:
            raise AmpemuError(f"no JACK port named '{name}'; list them with `jack_lsp`") from None
    ports = client.get_ports(is_physical=True, is_audio=True, is_input=is_input, is_output=not is_input)
    if not ports:
        kind = "playback" if is_input else "capture"
        raise AmpemuError(f"JACK has no physical {kind} port; name one with --{'output' if is_input else 'input'} "
                          "or use --loopback software")
    return ports[0]
