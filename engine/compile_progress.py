"""Say so when numba compiles the kernels for this CPU, with progress, instead of sitting silent.

numba fires a "numba:compile" event only on a cache miss (a first start, or after an update), so
nothing is printed when the kernels load from the cache. While a compile runs, a line on stderr
counts the functions compiled and the seconds elapsed (updated in place on a terminal; a start and an
end line otherwise). `announced` tells the CLI's front door that a Ctrl-C interrupted a compile.
"""

from __future__ import annotations

import sys
import threading
import time

import engine.kernels  # noqa: F401  (numba first loads there, without scipy: the CLI imports this module first)
from numba.core import event

ESTIMATE = "once per install or update, about 1-4 min"
TICK_S = 1.0


class CompileProgress(event.Listener):
    def __init__(self, stream=None):
        self._stream = stream  # None: whatever sys.stderr is when a line is written
        self.depth = 0  # compiles nest: a function compiles the helpers it calls
        self.done = 0
        self.started = None
        self.announced = False  # a start line is out and its end line is not
        self._lock = threading.Lock()

    @property
    def compiling(self) -> bool:
        return self.depth > 0

    def on_start(self, event_):
        with self._lock:
            self.depth += 1
            if self.announced:
                return
            self.announced, self.started, self.done = True, time.monotonic(), 0
            self._write(f"ampemu: compiling the real-time kernels for this CPU ({ESTIMATE}); Ctrl-C stops\n")
            threading.Thread(target=self._tick, name="ampemu-compile-progress", daemon=True).start()

    def on_end(self, event_):
        with self._lock:
            self.depth = max(0, self.depth - 1)
            self.done += 1

    def _tick(self) -> None:
        """Progress while compiling; the end line once a tick passes with no compile running."""
        while True:
            time.sleep(TICK_S)
            with self._lock:
                if not self.announced:
                    return
                if not self.compiling:
                    self.finish()
                    return
                if self._tty():
                    self._write(f"\r\033[K  compiling: {self.done} functions, {time.monotonic() - self.started:.0f} s")

    def finish(self) -> None:
        """The end line, if a start line is out (the ticker, or the CLI when the command ends)."""
        if self.announced:
            self.announced = False
            self._write(("\r\033[K" if self._tty() else "") + f"ampemu: compiled {self.done} kernel functions in "
                        f"{time.monotonic() - self.started:.0f} s (cached for next time)\n")

    def close(self) -> None:
        with self._lock:
            self.finish()

    def abandon(self) -> None:
        """An interrupted compile: no closing line (nothing was cached)."""
        with self._lock:
            self.announced = False

    @property
    def stream(self):
        return self._stream or sys.stderr

    def _tty(self) -> bool:
        return hasattr(self.stream, "isatty") and self.stream.isatty()

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken stderr must not break a compile
            pass


_progress: CompileProgress | None = None


def install(stream=None) -> CompileProgress:
    """Listen to numba's compile events for the rest of the process (once)."""
    global _progress
    if _progress is None:
        _progress = CompileProgress(stream)
        event.register("numba:compile", _progress)
    return _progress

