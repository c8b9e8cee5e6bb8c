"""engine/realtime/memory.py: what the callback's working set is, locking it (not the whole process),
and reading a process's memory."""

import subprocess
import sys

import pytest

from support.data import REPO, data_file
from engine.chain.chain import attach
from engine.chain.settings import ChainSettings
from engine.models import load_model
from engine.realtime import channel as ch
from engine.realtime.channel import Channel
from engine.realtime.memory import (callback_code, channel_arrays, mappings, memory_use,
                                    unwritten_file_mappings)

MAPS = """\
55d0c0000000-55d0c0001000 r--p 00000000 08:01 123 /usr/bin/python3.11
7f0000000000-7f0000100000 r-xp 00000000 00:00 0
7f0000100000-7f0000101000 r--p 00000000 00:00 0
7f0000200000-7f0004200000 rw-p 00000000 00:00 0 [heap]
7f0004200000-7f0004300000 rw-p 00000000 00:00 0
7f1000000000-7f1000200000 r-xp 00000000 08:01 456 /usr/lib/x86_64-linux-gnu/libjack.so.0.1.0
7f1000200000-7f1000400000 r-xp 00000000 08:01 457 /usr/lib/x86_64-linux-gnu/libc.so.6
7f1000400000-7f1006400000 r-xp 00000000 08:01 458 /venv/lib/llvmlite/binding/libllvmlite.so
7f1006400000-7f1006600000 rw-s 00000000 00:1a 459 /dev/shm/jack-0-0
7f1006600000-7f1006601000 ---p 00000000 00:00 0
"""


def test_the_callback_code_is_the_jit_code_and_the_libraries_it_calls():
    regions = callback_code(mappings(MAPS))
    assert [(hex(m.start), m.path) for m in regions] == [
        ("0x7f0000000000", ""), ("0x7f0000100000", ""),  # numba's code and its constants
        ("0x7f1000000000", "/usr/lib/x86_64-linux-gnu/libjack.so.0.1.0"),
        ("0x7f1000200000", "/usr/lib/x86_64-linux-gnu/libc.so.6")]  # not LLVM, the heap, Python or JACK's shm


def slot_channel():
    model = attach(load_model(data_file("models", "nam", "random_nano.nam")), ChainSettings(gate_db=-60.0))
    return Channel([model, load_model(data_file("models", "nam-a2", "lstm.nam"))])


def test_every_address_the_callback_reads_is_in_an_array_that_is_locked():
    channel = slot_channel()
    spans = [(a.ctypes.data, a.ctypes.data + a.nbytes) for a in channel_arrays(channel)]
    d = channel.descriptor
    slots = [ch.D_SLOTS + ch.SLOT_RECORD * i + 2 * j for i in range(len(channel.models)) for j in range(8)]
    addresses = [d[i] for i in list(range(ch.D_SLOTS)) + slots if d[i] > 4096]  # pointers, not counts or ports
    assert len(addresses) > 20
    assert all(any(lo <= address < hi for lo, hi in spans) for address in addresses)


LOCK_PROBE = """
import sys
from engine.chain.chain import attach
from engine.chain.settings import ChainSettings
from engine.models import load_model
from engine.realtime.channel import Channel
from engine.realtime.memory import channel_arrays, lock_memory, memory_use
model = attach(load_model(sys.argv[1]), ChainSettings(gate_db=-60.0))
channel = Channel([model, load_model(sys.argv[2])])
before = memory_use()
locked = lock_memory(channel)
after = memory_use()
print(locked, before.locked_mb, after.locked_mb, after.rss_mb, sum(a.nbytes for a in channel_arrays(channel)) / 2**20)
"""


def test_locking_the_working_set_locks_a_few_mb_not_the_process():
    """In a fresh process (a test in this one may have locked all of it already)."""
    done = subprocess.run([sys.executable, "-c", LOCK_PROBE, str(data_file("models", "nam", "random_nano.nam")),
                           str(data_file("models", "nam-a2", "lstm.nam"))], cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    locked, before, after, rss, arrays = done.stdout.split()
    if locked != "True":
        pytest.skip("the memlock limit does not allow locking here (ulimit -l)")
    assert float(before) == 0 and float(after) >= float(arrays)
    assert float(after) < 0.5 * float(rss)  # the whole process would be all of it, and more


def test_memory_use_reads_a_status_file():
    use = memory_use("Name:\tampemu\nVmHWM:\t  204800 kB\nVmRSS:\t  153600 kB\nVmLck:\t   10240 kB\n")
    assert (use.rss_mb, use.peak_rss_mb, use.locked_mb) == (150, 200, 10)
    assert use.line() == "150 MB resident (peak 200 MB), 10 MB locked"
    assert memory_use("Name:\tkthreadd\n") is None  # a kernel thread has no memory of its own


SMAPS = """\
7f1000400000-7f1006400000 r-xp 00000000 08:01 458 /venv/libllvmlite.so
Rss:               75000 kB
Anonymous:             0 kB
7f1006400000-7f1006500000 r--p 06000000 08:01 458 /venv/libllvmlite.so
Rss:                1800 kB
Anonymous:          1800 kB
7f1006500000-7f1006600000 rw-p 06100000 08:01 458 /venv/libllvmlite.so
Anonymous:           200 kB
7f1007000000-7f1008000000 r--p 00000000 08:01 459 /venv/libpython3.11.so
Anonymous:             0 kB
"""


def test_only_llvm_pages_that_are_the_files_are_given_back():
    """Code yes; relocated read-only data (copy-on-write pages) and writable data never."""
    assert [(hex(m.start), m.permissions) for m in unwritten_file_mappings(SMAPS, ("libllvmlite",))] == \
        [("0x7f1000400000", "r-xp")]


RELEASE_PROBE = """
import numba.np.arraymath  # LLVM is loaded
from numba import njit
from engine.realtime.memory import release_compiler

def llvm_resident_kb():
    kb, inside = 0, False
    for line in open("/proc/self/smaps"):
        fields = line.split()
        if "-" in fields[0] and not fields[0].endswith(":"):
            inside = "libllvmlite" in line and "w" not in fields[1]
        elif inside and fields[0] == "Rss:":
            kb += int(fields[1])
    return kb

before = llvm_resident_kb()
released = release_compiler()
after = llvm_resident_kb()
print(before, released, after, njit(lambda a: a + 1)(41))
"""


def test_the_compiler_code_goes_back_to_the_os_and_still_runs():
    """In a fresh process: pages a test before it locked (mlockall) cannot be given back."""
    done = subprocess.run([sys.executable, "-c", RELEASE_PROBE], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    before, released, after, compiled = (int(v) for v in done.stdout.split())
    assert before > 1024 and released > 0 and after < before / 2
    assert compiled == 42  # a compile after it pages LLVM's code back in
