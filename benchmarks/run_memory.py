"""What `ampemu run` holds in RAM while it plays a 3-preset bank, on a private dummy JACK server.

Starts a dummy jackd (ampemu_tools/dummy_server.py), writes a bank of three presets (NAM A1 standard,
NAM LSTM, the A2 container at --slim auto; each with the default chain), runs `ampemu run --presets
BANK --no-connect` in a child and, once it plays, reads the child's /proc/<pid>/status (VmRSS, VmHWM,
VmLck) and the largest contributors to its resident memory (/proc/<pid>/smaps). Target (#20): under
200 MB resident, a 2 GB Pi 5 being the smallest pedal. The kernels should be compiled already (a first
start compiles them: minutes, and the peak then includes the compiler's work).

    .venv/bin/python benchmarks/run_memory.py
    .venv/bin/python benchmarks/run_memory.py --tree ../main      # another checkout's code
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "models"
PRESETS = (("A1 standard", SHARED / "nam" / "wavenet_a1_standard.nam"),
           ("LSTM", REPO / "tests" / "data" / "models" / "nam-a2" / "lstm.nam"),
           ("A2 container", REPO / "tests" / "data" / "models" / "nam-a2" / "fuzzface_a2.nam"))
PLAYING_TIMEOUT_S = 900.0  # a first start compiles for minutes


def status(pid: int) -> dict[str, float]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "VmLck"):
            out[key] = int(value.split()[0]) / 1024
    return out


def resident_by_mapping(pid: int, top: int = 8) -> list[tuple[str, float]]:
    """MB resident per mapped file (anonymous memory as '[anonymous]'), largest first."""
    rss = collections.Counter()
    name = "[anonymous]"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if fields and "-" in fields[0] and not fields[0].endswith(":"):
            name = Path(fields[5]).name if len(fields) > 5 else "[anonymous]"
        elif fields and fields[0] == "Rss:":
            rss[name] += int(fields[1]) / 1024
    return rss.most_common(top)


def playing(port_max: int | None, tree: Path) -> tuple[list[str], dict[str, float], list[tuple[str, float]]]:
    """What `ampemu run` said, its memory and its largest mappings, on a server of `port_max` ports."""
    from ampemu_tools.dummy_server import DummyJackServer

    with tempfile.TemporaryDirectory(prefix="ampemu-memory-") as tmp, \
            DummyJackServer(rate=48000, period=64, port_max=port_max) as server:
        bank = Path(tmp) / "bank.toml"
        bank.write_text("".join(f'[[preset]]\nname = "{name}"\nmodel = "{path}"\nslim = "auto"\n\n'
                                for name, path in PRESETS))
        env = dict(server.env, PYTHONPATH=str(tree), AMPEMU_STATE_DIR=tmp)
        child = subprocess.Popen([sys.executable, "-m", "engine.cli", "run", "--presets", str(bank), "--no-connect"],
                                 env=env, cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            said, deadline = [], time.monotonic() + PLAYING_TIMEOUT_S
            for line in child.stdout:
                said.append(line.rstrip())
                if line.startswith("ampemu run: playing") or time.monotonic() > deadline:
                    break
            if not said or not said[-1].startswith("ampemu run: playing"):
                sys.exit("ampemu run did not start playing:\n" + "\n".join(said[-20:]))
            time.sleep(2.0)  # a couple of seconds of playing: the steady state
            use, top = status(child.pid), resident_by_mapping(child.pid)
        finally:
            child.terminate()
            child.wait(30)
    return said, use, top


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=REPO, help="the checkout whose code runs (default: this one)")
    tree = parser.parse_args().tree.resolve()
    sys.path.insert(0, str(REPO))
    print(f"ampemu run ({tree}), 3 presets ({', '.join(n for n, _ in PRESETS)}), dummy JACK 48 kHz / 64 frames")
    for port_max in (None, 64):
        said, use, top = playing(port_max, tree)
        if port_max is None:
            print("\n".join(said))
        print(f"\njackd --port-max {port_max or 'default'}: resident {use['VmRSS']:.0f} MB "
              f"(peak {use['VmHWM']:.0f} MB), locked {use['VmLck']:.0f} MB; load average {os.getloadavg()[0]:.1f}")
        print("largest resident mappings: " + ", ".join(f"{name} {mb:.0f} MB" for name, mb in top))


if __name__ == "__main__":
    main()
