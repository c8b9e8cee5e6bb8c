"""`ampemu bench [MODEL ...]`: real-time factor, headroom and a verdict per model, backend and block size.

The measuring lives in ampemu_tools/benchmarking.py; this module parses options and prints. See
docs/benchmarks.md for the definitions and for how to contribute a Pi 5 table (`--json`).
"""

from __future__ import annotations

import json

from ampemu_tools import pi5_estimate
from engine.atomic import check_writable, write_atomically
from ampemu_tools.bench_models import BUILTINS, resolve_target, slimmed_target
from ampemu_tools.benchmarking import (BACKENDS, CLOCKS, DEFAULT_BLOCKS, chain_cost, chain_markdown, markdown,
                                      resampling_cost, resampling_markdown, run_bench)
from engine.chain import settings as chain_settings
from engine.errors import AmpemuError
from engine.realtime.channel import MAX_BLOCK
from engine.slim import add_slim_argument


MAX_SECONDS = 3600.0  # per row: a longer run measures nothing more


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise AmpemuError(f"--blocks {text}: give block sizes as comma-separated integers, e.g. 16,64,256") from None
    if not values or min(values) < 1 or max(values) > MAX_BLOCK:
        raise AmpemuError(f"--blocks {text}: block sizes must be 1..{MAX_BLOCK} frames (JACK's largest period)")
    return values


def add_arguments(p) -> None:
    p.add_argument("models", nargs="*", metavar="MODEL",
                   help=f"model files (.json, .nam, .onnx) or built-ins: {', '.join(BUILTINS)} (default: all built-ins)")
    p.add_argument("--blocks", default=",".join(map(str, DEFAULT_BLOCKS)),
                   help="comma-separated block sizes in frames (default %(default)s)")
    p.add_argument("--backends", default=",".join(BACKENDS),
                   help="comma-separated backends (default: all; unavailable ones are listed as skipped)")
    p.add_argument("--seconds", type=float, default=1.0,
                   help="audio timed per row (default 1; use 10 or more for a steadier p99)")
    p.add_argument("--budget", type=float, default=1.5,
                   help="wall-clock seconds a row may take before it stops early (default 1.5; slow backends)")
    p.add_argument("--clock", choices=CLOCKS, default="wall",
                   help="time the verdict and headroom use: wall (default; right on a dedicated machine) or cpu "
                        "(this thread's CPU time: leaves out other processes' use of the core on a shared machine)")
    p.add_argument("--pi5-estimate", action="store_true",
                   help="also print an ESTIMATE of the Pi 5's figures scaled from this x86 run (docs/benchmarks.md)")
    p.add_argument("--json", metavar="FILE", help="also write the full report (machine, settings, rows) as JSON")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_slim_argument(p, repeatable=True, help="sizes 0..1 of slimmable NAM files to measure (repeatable; default: "
                                               "the largest)")
    p.add_argument("--server-rate", metavar="HZ", type=int, default=None,
                   help="also time each model on a JACK server at HZ (through the resampler; e.g. 44100 for a "
                        "48 kHz capture) against the model alone at its own rate")
    chain_settings.add_arguments(p)
    p.epilog = ("With --ir, --gate or --eq, a second table gives the chain's cost per stage on each model's output "
                "(numba, wall clock) and model + chain over the model alone; with --server-rate, one table per model "
                "gives the resampler's cost and latency.")


def run(args) -> int:
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown or not backends:
        raise AmpemuError(f"--backends {args.backends}: unknown {', '.join(unknown) or 'empty list'}; "
                          f"choose from {', '.join(BACKENDS)}")
    for option, value in (("--seconds", args.seconds), ("--budget", args.budget)):
        if not 0 < value <= MAX_SECONDS:  # also refuses nan
            raise AmpemuError(f"{option} {value}: give a number of seconds in (0, {MAX_SECONDS}]")
    blocks = _int_list(args.blocks)
    if args.server_rate is not None and not 8000 <= args.server_rate <= 384000:
        raise AmpemuError(f"--server-rate {args.server_rate}: give a sample rate in Hz, 8000..384000")
    if args.json:
        check_writable(args.json, "JSON report")
    targets = [resolve_target(spec) for spec in (args.models or BUILTINS)]
    if args.slim:
        sized = [slimmed_target(t, size) for t in targets for size in args.slim]
        targets = list({id(t): t for t in sized}.values())  # a model without sizes is measured once
    report = run_bench(targets, backends, blocks, args.seconds, args.budget, progress=not args.no_progress,
                       clock=args.clock)
    print(markdown(report))
    if args.pi5_estimate:
        report["pi5_estimate"] = pi5_estimate.estimate(report)
        print("\n" + pi5_estimate.markdown(report))
    if args.ir or args.gate is not None or args.eq:
        report["chain"] = _chain_tables(targets, blocks, args)
    if args.server_rate is not None:
        report["resampling"] = _resampling_tables(targets, blocks, args)
    if args.json:
        write_atomically(args.json, json.dumps(report, indent=1) + "\n")
        print(f"\nwrote {args.json}")
    return 0


def _chain_tables(targets, blocks, args) -> list[dict]:
    from engine import families

    settings = chain_settings.from_args(args)
    tables = []
    for target in targets:
        family = families.by_name(target.family)
        if family.backend != "numba":
            continue  # the chain plays on the numba backend
        model = family.play(target.model, False, "", None)
        rows = [chain_cost(model, settings, block, args.seconds) for block in blocks]
        print("\n" + chain_markdown(target.name, rows))
        tables.append({"model": target.name, "rows": rows})
    return tables


def _resampling_tables(targets, blocks, args) -> list[dict]:
    from engine import families

    tables = []
    for target in targets:
        family = families.by_name(target.family)
        if family.backend != "numba":
            continue  # the resampler plays on the numba backend
        if target.sample_rate == args.server_rate:
            print(f"\n{target.name}: captured at {args.server_rate} Hz, nothing to resample")
            continue
        model = family.play(target.model, False, "", None)
        try:
            rows = [resampling_cost(model, args.server_rate, block, args.seconds) for block in blocks]
        except ValueError as exc:
            raise AmpemuError(f"--server-rate {args.server_rate}: {exc}") from None
        print("\n" + resampling_markdown(target.name, target.sample_rate, args.server_rate, rows))
        tables.append({"model": target.name, "model_rate": target.sample_rate, "rows": rows})
    return tables
