"""A private `jackd` with the dummy backend: for tests, benchmarks and trying `ampemu run` without
audio hardware. It runs under its own server name (clients find it through JACK_DEFAULT_SERVER),
keeps only the last lines of its log, and is killed with SIGKILL if it does not stop in time.
"""

from __future__ import annotations

import collections
import fcntl
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from engine.errors import AmpemuError

# libjack keeps at most 8 server names in its shared registry, and a jackd killed with SIGKILL keeps
# its entry until a server of the same name starts again. Unique names per run would fill the
# registry ("Too many servers already active"), so private servers reuse a small pool of names.
# Each name is claimed with an advisory lock on a file that lives as long as the server (the kernel
# drops it when the process dies), so test runs in parallel never start two servers of one name.
NAME_POOL = [f"ampemu-dummy-{i}" for i in range(6)]
CLAIM_WAIT_S = 300.0  # how long to wait for a name when parallel runs hold them all


class DummyJackServer:
    def __init__(self, rate: int = 48000, period: int = 64, realtime: bool = True, name: str | None = None,
                 log_lines: int = 200, port_max: int | None = None):
        self._claim = None  # the open lock file of a pool name, held until stop()
        self.name = name or self._claim_name()
        self.rate, self.period, self.realtime = rate, period, realtime
        self.port_max = port_max  # None: jackd's default (its shared memory grows with it)
        self._log = collections.deque(maxlen=log_lines)  # bounded: jackd can print an xrun line per cycle
        self.process: subprocess.Popen | None = None

    def _claim_name(self) -> str:
        """The first pool name that no other process holds and no server answers to."""
        deadline = time.monotonic() + CLAIM_WAIT_S
        while True:
            for candidate in NAME_POOL:
                claim = open(Path(tempfile.gettempdir()) / f"{candidate}.lock", "a")
                try:
                    fcntl.flock(claim, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    claim.close()
                    continue
                if _server_answers(candidate):  # a server someone started by hand
                    claim.close()
                    continue
                self._claim = claim
                return candidate
            if time.monotonic() > deadline:
                raise AmpemuError(f"all private JACK server names ({', '.join(NAME_POOL)}) stayed in use for "
                                  f"{CLAIM_WAIT_S:.0f} s")
            time.sleep(0.5)

    @property
    def env(self) -> dict:
        """Environment for a child process that should talk to this server."""
        return dict(os.environ, JACK_DEFAULT_SERVER=self.name, JACK_NO_START_SERVER="1")

    def log(self) -> str:
        return "".join(self._log)

    @property
    def realtime_granted(self) -> bool:
        """Whether jackd got real-time scheduling (without it, its own timer is late now and then)."""
        return self.realtime and "Cannot use real-time scheduling" not in self.log()

    def start(self, timeout: float = 15.0) -> "DummyJackServer":
        jackd = shutil.which("jackd")
        if jackd is None:
            raise AmpemuError("jackd is not installed (Debian: apt-get install --no-install-recommends jackd2)")
        cmd = [jackd, "-n", self.name, "-R" if self.realtime else "-r",
               *(["--port-max", str(self.port_max)] if self.port_max else []), "-d", "dummy",
               "-r", str(self.rate), "-p", str(self.period)]
        self.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, env=dict(os.environ, JACK_NO_AUDIO_RESERVATION="1"),
                                        text=True, errors="replace")
        threading.Thread(target=self._drain, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not self._accepts_clients():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AmpemuError(f"jackd ({' '.join(cmd)}) did not start: {self.log()[-800:]}")
            time.sleep(0.05)
        return self

    def _drain(self) -> None:
        for line in self.process.stdout:
            self._log.append(line)

    def _accepts_clients(self) -> bool:
        return _server_answers(self.name)

    def stop(self, timeout: float = 5.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout` seconds; returns jackd's exit status. Frees the name."""
        try:
            if self.process is None:
                return None
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(timeout)
            return self.process.returncode
        finally:
            if self._claim is not None:
                self._claim.close()  # closing the file drops its lock
                self._claim = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _server_answers(name: str) -> bool:
    import jack

    jack.set_error_function(lambda message: None)  # the failed tries print several lines each
    try:
        jack.Client("ampemu-probe", no_start_server=True, servername=name).close()
        return True
    except jack.JackOpenError:
        return False
    finally:
        jack.set_error_function(None)
