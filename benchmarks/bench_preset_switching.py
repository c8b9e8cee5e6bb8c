"""What crossfades cost the callback: its time with and without continuous preset switching.

    .venv/bin/python benchmarks/bench_preset_switching.py [--seconds 10]

A private dummy jackd (-R, 44.1 kHz, 64 frames), two seed presets (Klon-Centaur, Marshall Plexi),
30 ms equal-power crossfade, housekeeping thread running. Window 1: no switch. Window 2: a switch
every 60 ms, so the callback runs two models about half the time. Reported from the callback's own
histogram (0.1 us bins): p50 / p99 / p99.9 / max, fades done, blocks that waited for a slot reset.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.models import load_model  # noqa: E402
from engine.presets.live import Housekeeper  # noqa: E402
from engine.realtime import channel as ch  # noqa: E402
from ampemu_tools.dummy_server import DummyJackServer  # noqa: E402
from engine.realtime.jack_host import JackHost  # noqa: E402
from engine.realtime.memory import lock_memory  # noqa: E402

SEEDS = REPO / "tests/data/models/seed-profiles"


def window(host, seconds, switch_every=None):
    before = host.channel.snapshot()
    end, slot = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        if switch_every:
            slot = 1 - slot
            host.channel.select_slot(slot)
        time.sleep(switch_every or 0.1)
    w = host.channel.snapshot().since(before)
    return (f"p50 {w.percentile_us(50):.1f} us, p99 {w.percentile_us(99):.1f} us, p99.9 {w.percentile_us(99.9):.1f} us, "
            f"max {w.max_us():.1f} us, fades {w.stats[ch.FADES]}, waits {w.stats[ch.WAITS]}, blocks {w.blocks}, "
            f"xruns {w.xruns}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    locked = lock_memory()
    with DummyJackServer(rate=44100, period=64) as server:
        import os

        os.environ.update(JACK_DEFAULT_SERVER=server.name, JACK_NO_START_SERVER="1")
        models = [load_model(SEEDS / f"{name}.json") for name in ("Klon-Centaur", "Marshall-JMP-Plexi-1968")]
        host = JackHost(models, n_outs=2)
        host.channel.set_crossfade(1323, "equal-power")
        host.start(connect=True)
        keeper = Housekeeper(host.channel).start()
        try:
            time.sleep(0.5)
            print(f"memory {'locked' if locked else 'not locked'}; 64 frames at 44.1 kHz (period 1451 us)")
            print("no switching:         ", window(host, args.seconds))
            print("a switch every 60 ms: ", window(host, args.seconds, 0.06))
        finally:
            keeper.close()
            host.close()


if __name__ == "__main__":
    main()
