"""`ampemu`: one console script, one subcommand per job.

Each subcommand lives in the module that owns the job; this file only wires them and turns
AmpemuError into a single line on stderr with exit code 2. Training subcommands live in
`training/cli_*.py` and the measuring ones in `ampemu_tools/commands/`; they are named here as strings
and imported only to build the parser (their parsers import nothing heavy, so `ampemu --help` works
without torch), and a checkout without training/ or ampemu_tools/ (the Pi) simply lacks them.
"""

from __future__ import annotations

import argparse
import sys

from engine.errors import AmpemuError

# subcommand -> module providing add_arguments(parser) and run(args); imported on use
COMMANDS = {
    "process": ("engine.commands.process", "render a WAV file through a model (offline)"),
    "info": ("engine.commands.info", "print what a model file holds"),
    "run": ("engine.commands.run", "play a model live through JACK (or PortAudio)"),
    "presets": ("engine.commands.presets", "check or list a preset bank"),
    "doctor": ("engine.commands.doctor", "check this machine for live playing and print a fix for each problem"),
    "bench": ("ampemu_tools.commands.bench", "real-time factor, headroom and a verdict per model, backend and block size"),
    "latency": ("ampemu_tools.commands.latency", "round-trip latency through JACK with a loop (cable or software)"),
    "capture": ("engine.commands.capture", "re-amp a device through JACK and write a capture pair (or the signal)"),
    "train": ("training.cli_train", "train a model on a capture pair (needs the train extra)"),
    "predict": ("training.cli_predict", "render a WAV through a training checkpoint (torch)"),
    "test": ("training.cli_test", "metrics and plots of a checkpoint on a capture's test split"),
    "export": ("training.cli_export", "write a checkpoint as a model file the engine plays"),
    "demo": ("training.demo", "the whole story on a built-in capture: train, test, export, render"),
}


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(prog="ampemu", description="Neural amp and pedal captures: train, export, play.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.split(".")[0] in ("engine", "training", "ampemu_tools"):
                continue  # a subcommand not built yet in this checkout
            raise
        p = sub.add_parser(name, help=help_text, description=help_text)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except AmpemuError as exc:
        print(f"ampemu {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ampemu {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
