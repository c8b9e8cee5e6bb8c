"""Helpers for the JACK tests: a private dummy jackd per test module and the seed model's path.

The server runs at 44.1 kHz because the shipped reference models are 44.1 kHz captures.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from shared_data import REPO, shared_path

SEED_MODEL = ("models", "seed-profiles", "Klon-Centaur.json")
RATE = 44100


def require_jackd() -> None:
    if shutil.which("jackd") is None:
        pytest.fail("jackd is not installed: scripts/bootstrap.sh installs jackd2 (apt-get install "
                    "--no-install-recommends jackd2)")


def compile_host() -> None:
    """Compile the callback here once, so child processes load it from numba's cache in a second."""
    import engine.realtime.jack_callback  # noqa: F401


def start_server(rate: int = RATE, period: int = 64):
    from engine.realtime.dummy_server import DummyJackServer

    require_jackd()
    compile_host()
    return DummyJackServer(rate=rate, period=period).start()


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
    return str(shared_path(*SEED_MODEL))
