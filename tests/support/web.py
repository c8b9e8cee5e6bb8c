"""Helpers for the web tests: a bank of two seed models in its own folder, and a tiny HTTP client."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import urllib3

from support.presets import seed

TOKEN = "test-token-0123456789abcdef"
BANK_TEXT = """# my pedal bank: this comment must survive a save
crossfade_ms = 20

[[preset]]
name = "Klon"
model = "Klon-Centaur.json"

[[preset]]
name = "Plexi"  # a trailing comment
model = "Marshall-JMP-Plexi-1968.json"
"""


def bank_folder(root: Path) -> Path:
    folder = root / "bank"
    folder.mkdir()
    for name in ("Klon-Centaur", "Marshall-JMP-Plexi-1968"):
        shutil.copy(seed(name), folder / f"{name}.json")
    (folder / "presets.toml").write_text(BANK_TEXT)
    return folder / "presets.toml"


class Client:
    """Requests against one server; `auth`: 'bearer', 'cookie' or None; `origin`: the Origin header to send."""

    def __init__(self, port: int):
        self.base = f"http://127.0.0.1:{port}"
        self.http = urllib3.PoolManager(retries=False, timeout=30)

    def request(self, method: str, path: str, body=None, auth: str | None = "bearer", origin: str | None = "same",
                fields=None, headers=None):
        headers = dict(headers or {})
        if auth == "bearer":
            headers["Authorization"] = f"Bearer {TOKEN}"
        elif auth == "cookie":
            headers["Cookie"] = f"ampemu_token={TOKEN}"
        if origin == "same":
            headers["Origin"] = self.base
        elif origin:
            headers["Origin"] = origin
        if fields is not None:
            return self.http.request(method, self.base + path, fields=fields, headers=headers, redirect=False)
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        return self.http.request(method, self.base + path, body=data, headers=headers, redirect=False)

    def post(self, path: str, body=None, **kwargs):
        return self.request("POST", path, body if body is not None else {}, **kwargs)

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)


class EngineWithWeb:
    """`ampemu run --presets BANK --web 127.0.0.1:0 --no-connect` in a child process on the private
    server, with a feeder client playing a steady tone into its input (tone_hz None: silence). The
    feeder is a Python callback in this process: a busy thread here delays it (its own xruns)."""

    def __init__(self, server, bank: Path, tmp: Path, tone_hz: float | None = 110.0, amplitude: float = 0.25):
        self.server, self.bank, self.tmp = server, bank, tmp
        self.tone_hz, self.amplitude = tone_hz, amplitude

    def __enter__(self):
        import subprocess
        import sys
        import threading

        from support.data import REPO
        from support.jack import compile_host

        compile_host()
        token_file = self.tmp / "web-token"
        token_file.write_text(TOKEN + "\n")
        token_file.chmod(0o600)
        state = self.tmp / "state"
        state.mkdir(exist_ok=True)
        env = dict(self.server.env, AMPEMU_WEB_TOKEN=str(token_file), AMPEMU_STATE_DIR=str(state))
        self.child = subprocess.Popen([sys.executable, "-m", "engine.cli", "run", "--presets", str(self.bank),
                                       "--web", "127.0.0.1:0", "--no-connect", "--duration", "600"], cwd=REPO,
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines, found = [], threading.Event()

        def read():
            for line in self.child.stdout:
                self.lines.append(line)
                if "web page on http://" in line:
                    found.set()

        threading.Thread(target=read, daemon=True).start()
        if not found.wait(180):
            self.child.kill()
            raise AssertionError("the engine did not start its web page:\n" + "".join(self.lines))
        line = next(line for line in self.lines if "web page on http://" in line)
        self.port = int(line.split("http://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
        self.client = Client(self.port)
        self.feeder = None
        if self.tone_hz:
            self._feed()
        return self

    def _feed(self):
        import jack
        import numpy as np

        self.feeder = jack.Client("feeder", no_start_server=True, servername=self.server.name)
        port = self.feeder.outports.register("out")
        phase = [0]
        step = 2 * np.pi * self.tone_hz / self.feeder.samplerate

        def process(frames):
            k = phase[0] + np.arange(frames)
            port.get_array()[:] = self.amplitude * np.sin(step * k)
            phase[0] += frames

        self.feeder.set_process_callback(process)
        self.feeder.activate()
        self.feeder.connect(port, "ampemu:in")

    def state(self) -> dict:
        return json.loads(self.client.get("/api/state").data)

    def __exit__(self, *exc):
        import signal

        if self.feeder:
            self.feeder.deactivate()
            self.feeder.close()
        self.child.send_signal(signal.SIGTERM)
        try:
            self.child.wait(30)
        finally:
            if self.child.poll() is None:
                self.child.kill()
