"""Run many `ampemu` command lines in one process (one interpreter start for a whole batch) and
report, per command line, its exit code, stderr, seconds and the process's peak memory so far.

Usage: python drive.py < cases.json > results.json, cases being a list of argv lists. The address
space is capped (AMPEMU_DRIVE_AS_BYTES, default 1.5 GiB) and every case has its own alarm (30 s),
so a hang or a runaway allocation shows up as that case's failure, not as a stuck test.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import signal
import sys
import time

CASE_SECONDS = 30


class CaseTimeout(BaseException):
    pass


def _peak_rss_mb() -> int:
    """This process's own peak RSS (VmHWM). Not getrusage's ru_maxrss: Linux carries that over exec
    from the forked parent, so under a big pytest it reports the parent's size, not ours."""
    with open("/proc/self/status") as status:
        kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    return kb // 1024


def _alarm(*_):
    raise CaseTimeout()


def main() -> None:
    limit = int(os.environ.get("AMPEMU_DRIVE_AS_BYTES", 1536 * 2**20))
    if limit > 0:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from engine.cli import main as ampemu

    signal.signal(signal.SIGALRM, _alarm)
    results = []
    for argv in json.load(sys.stdin):
        out, err = io.StringIO(), io.StringIO()
        started = time.monotonic()
        signal.alarm(CASE_SECONDS)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = ampemu(argv)
                except SystemExit as exc:  # argparse
                    code = exc.code if isinstance(exc.code, int) else 2
        except CaseTimeout:
            code = "timeout"
        finally:
            signal.alarm(0)
        results.append({"argv": argv, "code": code, "stdout": out.getvalue()[-2000:], "stderr": err.getvalue(),
                        "seconds": round(time.monotonic() - started, 2),
                        "peak_rss_mb": _peak_rss_mb()})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
