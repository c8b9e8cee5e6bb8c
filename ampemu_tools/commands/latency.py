"""`ampemu latency`: the round trip through JACK measured with a loop (cable or software), and where it comes from.

The measuring lives in ampemu_tools/latency.py. See docs/benchmarks.md ("Latency").
"""

from __future__ import annotations

import json

from engine.atomic import write_atomically
from engine.errors import AmpemuError
from ampemu_tools.latency import measure_round_trip


def add_arguments(p) -> None:
    p.add_argument("--output", metavar="PORT", help="JACK port the clicks go to (default: the first physical playback port)")
    p.add_argument("--input", metavar="PORT", help="JACK port they come back from (default: the first physical capture port)")
    p.add_argument("--loopback", choices=("cable", "software"), default="cable",
                   help="cable: a cable from the interface's output to its input (default); software: a JACK client "
                        "copies our output back (no hardware: checks the tool and JACK's own cycle)")
    p.add_argument("--loopback-delay", type=int, default=0, metavar="FRAMES",
                   help="extra frames the software loopback adds (default 0)")
    p.add_argument("--nperiods", type=int, default=2,
                   help="periods per buffer jackd was started with (-n; default 2) for the buffering figure")
    p.add_argument("--clicks", type=int, default=4, help="clicks sent (default 4)")
    p.add_argument("--json", metavar="FILE", help="also write the result as JSON")


def run(args) -> int:
    if args.loopback_delay < 0 or args.clicks < 1 or args.nperiods < 1:
        raise AmpemuError("--loopback-delay must be >= 0, --clicks and --nperiods >= 1")
    software = args.loopback == "software"
    result = measure_round_trip(args.output, args.input, args.loopback_delay if software else None, args.clicks)
    rate, period = result.sample_rate, result.period
    buffering = period * args.nperiods
    print(f"round trip: {result.frames} frames = {result.ms:.2f} ms at {rate} Hz "
          f"(period {period}; match {result.match:.2f}; per click {', '.join(map(str, result.per_click))})")
    print("  engine (model) algorithmic latency: 0 samples (causal models, processed in the same JACK cycle)")
    print(f"  JACK buffering: period {period} x nperiods {args.nperiods} / {rate} Hz = {buffering} frames "
          f"({1000 * buffering / rate:.2f} ms)")
    if result.capture_latency is not None and result.playback_latency is not None:
        reported = result.capture_latency + result.playback_latency
        print(f"  JACK's port latencies: capture {result.capture_latency} + playback {result.playback_latency} = "
              f"{reported} frames; the rest ({result.frames - reported} frames) is the interface (converters, USB)")
    if software:
        print(f"  software loopback: one JACK cycle ({period} frames) + its delay ({args.loopback_delay}) "
              "closes the loop; no hardware involved")
    if len(set(result.per_click)) > 1:
        print("  warning: the clicks came back at different delays: the loop dropped or repeated audio (xruns?)")
    if args.json:
        doc = {"frames": result.frames, "ms": round(result.ms, 3), "sample_rate": rate, "period": period,
               "nperiods": args.nperiods, "jack_buffering_frames": buffering, "engine_latency_frames": 0,
               "capture_latency": result.capture_latency, "playback_latency": result.playback_latency,
               "per_click": result.per_click, "match": round(result.match, 4), "loopback": args.loopback}
        write_atomically(args.json, json.dumps(doc, indent=1) + "\n")
    return 0
