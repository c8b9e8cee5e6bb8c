"""Lock what the real-time callback touches in RAM, so it never waits for a page fault; give back what
playing never runs; and read how much memory a process holds and has locked.

The JACK callback is compiled code: it touches the channel's and the slots' arrays, the machine code
numba generated (anonymous executable memory) and the few C libraries it calls (libjack, libc, libm,
numba's helpers). `lock_memory(channel)` locks those and nothing else. Locking the whole process
(mlockall) would also page in and pin every library mapped into it: LLVM, numpy's BLAS, the Python
heap, each thread's stack; hundreds of MB on a 2 GB Pi for nothing the callback reads. A callback
that runs Python (the PortAudio backend) touches the interpreter, so `lock_memory(None)` locks the
whole process for it. Locking needs a memlock limit (root, or `LimitMEMLOCK=` / `@audio - memlock`);
without it the host still runs and says memory is not locked.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MCL_CURRENT, MCL_FUTURE = 1, 2  # Linux values
# C libraries the compiled callback calls into (file names start so): JACK, libc / libm / the loader,
# and numba's helpers (math and array helpers its generated code may call)
CALLBACK_LIBRARIES = ("libjack", "libc.so", "libc-", "libm.so", "libm-", "ld-linux", "libgcc_s", "_helperlib",
                      "_nrt_python")
_libc = None


def _mlock_call():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        _libc.mlock.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
    return _libc


@dataclass
class Mapping:
    start: int
    end: int
    permissions: str  # "r-xp"
    path: str  # "" for anonymous memory


def mappings(maps: str) -> list[Mapping]:
    """/proc/<pid>/maps as records."""
    out = []
    for line in maps.splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) < 5:
            continue
        start, end = (int(v, 16) for v in fields[0].split("-"))
        out.append(Mapping(start, end, fields[1], fields[5].strip() if len(fields) > 5 else ""))
    return out


def callback_code(regions: list[Mapping]) -> list[Mapping]:
    """The mappings of compiled code the callback runs: numba's JIT code and its constants (anonymous
    memory that is executable or read-only; a few MB) and the C libraries it calls."""
    return [m for m in regions if "r" in m.permissions and (
        (m.path == "" and ("x" in m.permissions or "w" not in m.permissions))
        or any(Path(m.path).name.startswith(name) for name in CALLBACK_LIBRARIES))]


def channel_arrays(channel) -> list[np.ndarray]:
    """Every array the callback reads or writes: the channel's, each slot's model and chain."""
    arrays = [value for value in vars(channel).values() if isinstance(value, np.ndarray)]
    for model in channel.models:
        arrays += [model.layout, model.weights, model.state, model.cursor]
        if getattr(model, "chain", None) is not None:
            c = model.chain
            arrays += [c.layout, c.weights, c.state, c.fstate]
    return arrays


def lock_memory(channel=None) -> bool:
    """Lock the callback's working set (channel given: its arrays, the compiled code and the libraries
    it calls), or the whole process now and in future (None); False when the limit or the platform
    does not allow it."""
    if channel is not None:
        return lock_working_set(channel_arrays(channel))
    try:
        return _mlock_call().mlockall(MCL_CURRENT | MCL_FUTURE) == 0
    except (OSError, AttributeError):
        return False


def lock_working_set(arrays: list[np.ndarray]) -> bool:
    """Lock `arrays` and the compiled code a callback runs (`callback_code`): a compiled callback's
    working set, the engine's or the capture recorder's (which may run inside the engine's process)."""
    try:
        libc = _mlock_call()
        spans = [(a.ctypes.data, a.nbytes) for a in arrays if a.nbytes]
        spans += [(m.start, m.end - m.start) for m in callback_code(mappings(Path("/proc/self/maps").read_text()))]
        return all(libc.mlock(start, size) == 0 for start, size in spans)
    except (OSError, AttributeError):
        return False


MADV_DONTNEED = 4  # Linux
COMPILER_LIBRARIES = ("libllvmlite",)  # numba's LLVM: runs to compile or load kernels, never to play


def unwritten_file_mappings(smaps: str, names: tuple[str, ...]) -> list[Mapping]:
    """The read-only mappings of files named `names...` none of whose pages this process wrote (no
    copy-on-write "Anonymous" pages, as relocated data has): their pages are the file's, from /proc/<pid>/smaps."""
    found, current = [], None
    for line in smaps.splitlines():
        fields = line.split()
        if fields and "-" in fields[0] and not fields[0].endswith(":"):
            current = mappings(line)[0]
            if "w" in current.permissions or not any(Path(current.path).name.startswith(n) for n in names):
                current = None
        elif current is not None and fields[:1] == ["Anonymous:"] and fields[1] == "0":
            found.append(current)
    return found


def release_compiler() -> int:
    """Give back the resident pages of the compiler (numba's LLVM: about 100 MB of code and constants
    paged in once numba has loaded; playing never runs it). Only mappings whose pages are the file's
    (read-only, never written), so dropping them loses nothing: they fault back in if anything
    compiles later. Returns the bytes advised (0 where madvise is not available)."""
    try:
        libc = _mlock_call()
        libc.madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
        pages = unwritten_file_mappings(Path("/proc/self/smaps").read_text(), COMPILER_LIBRARIES)
        return sum(m.end - m.start for m in pages if libc.madvise(m.start, m.end - m.start, MADV_DONTNEED) == 0)
    except (OSError, AttributeError):
        return 0


@dataclass
class MemoryUse:
    rss_mb: float  # resident now (VmRSS)
    peak_rss_mb: float  # the most resident so far (VmHWM)
    locked_mb: float  # locked in RAM (VmLck)

    def line(self) -> str:
        return f"{self.rss_mb:.0f} MB resident (peak {self.peak_rss_mb:.0f} MB), {self.locked_mb:.0f} MB locked"


def memory_use(status: str | None = None) -> MemoryUse | None:
    """A process's memory from its /proc/<pid>/status text (default: this process); None off Linux."""
    if status is None:
        try:
            status = Path("/proc/self/status").read_text()
        except OSError:
            return None
    kb = {}
    for line in status.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "VmLck") and value.split():
            kb[key] = int(value.split()[0])
    if "VmRSS" not in kb:
        return None
    return MemoryUse(kb["VmRSS"] / 1024, kb.get("VmHWM", kb["VmRSS"]) / 1024, kb.get("VmLck", 0) / 1024)
