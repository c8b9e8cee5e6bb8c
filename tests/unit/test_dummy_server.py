"""Private JACK servers for tests: parallel runs never get the same server name (ampemu_tools/dummy_server.py)."""

import subprocess
import sys

from support.data import REPO

from ampemu_tools.dummy_server import DummyJackServer

CLAIM_IN_ANOTHER_PROCESS = """
from ampemu_tools.dummy_server import DummyJackServer
print(DummyJackServer().name)
"""


def test_a_name_is_held_until_stop_and_other_processes_get_another():
    first, second = DummyJackServer(), DummyJackServer()
    try:
        assert first.name != second.name
        other = subprocess.run([sys.executable, "-c", CLAIM_IN_ANOTHER_PROCESS], cwd=REPO, capture_output=True,
                               text=True, timeout=60)
        assert other.returncode == 0, other.stderr
        assert other.stdout.strip() not in (first.name, second.name)
        name = first.name
        first.stop()
        assert DummyJackServer().name == name  # freed by stop() (and the unreferenced claim is dropped again)
    finally:
        first.stop()
        second.stop()
