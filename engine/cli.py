"""`ampemu`: one console script, one subcommand per job, and the one front door for errors.

Each subcommand lives in the module that owns the job; this file wires them and turns every
expected failure into a single line on stderr with exit code 2: an AmpemuError (bad file, bad
setting), an OS error on read or write (missing folder, read-only or full disk, a folder where a
file should be), an audio file libsndfile cannot read or write, a bad argument, memory exhausted.
Ctrl-C exits 130 with one line, also while numba compiles. Anything else is a bug in ampemu: its
traceback is shown with a line asking to report it. Training subcommands live in
`training/cli_*.py` and the measuring ones in `ampemu_tools/commands/`; they are named here as strings
and only the chosen subcommand's module is imported (all of them for `ampemu --help`: their parsers
import nothing heavy, so it works without torch), so a player holds nothing of the rest in memory; a
checkout without training/ or ampemu_tools/ (the Pi) simply lacks them.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import importlib.util
import sys
import traceback

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
REPORT = "this is a bug in ampemu: please report it with the command you ran and the traceback above"
_OS_FIXES = {
    errno.ENOSPC: "free some space on that disk", errno.EDQUOT: "free some space on that disk",
    errno.EROFS: "the disk is read-only: write somewhere else", errno.EACCES: "check its permissions",
    errno.EPERM: "check its permissions", errno.EISDIR: "that is a folder: give a file name",
    errno.ENOENT: "check the path", errno.ENOTDIR: "a part of the path is not a folder",
}


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (the usage is one `--help` away), exit code 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


_OURS = ("engine", "training", "ampemu_tools")


def _present(module: str) -> bool:
    """Whether a subcommand's module is in this checkout (found, not imported)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in _OURS:
            return False
        raise


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; given the command line, only the chosen subcommand's module is imported (`ampemu
    run` loads nothing of training or the measuring tools), the others are listed by name."""
    chosen = argv[0] if argv and argv[0] in COMMANDS else None
    parser = Parser(prog="ampemu", description="Neural amp and pedal captures: train, export, play.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        if chosen is not None and name != chosen:
            if _present(module):
                sub.add_parser(name, help=help_text, description=help_text)
            continue
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.split(".")[0] in _OURS:
                continue  # a subcommand not built yet in this checkout
            raise
        p = sub.add_parser(name, help=help_text, description=help_text)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def expected_failure(exc: BaseException) -> str | None:
    """The one line for a failure the user can fix, or None for a bug."""
    if isinstance(exc, AmpemuError):
        return str(exc)
    if isinstance(exc, OSError):
        where = " -> ".join(str(f) for f in (exc.filename, exc.filename2) if f is not None) or "a file"
        fix = _OS_FIXES.get(exc.errno, "check the path, free space and permissions")
        return f"{where}: {exc.strerror or exc.__class__.__name__}; {fix}"
    if type(exc).__module__ == "soundfile":  # LibsndfileError, SoundFileError: libsndfile's own words
        return f"audio file: {str(exc).splitlines()[0][:200]}; check the path, free space and the file's format"
    if isinstance(exc, MemoryError):
        return "out of memory: the input is too large for this machine; use a shorter file or a smaller model"
    return None


def main(argv: list[str] | None = None) -> int:
    from engine import compile_progress

    command, progress = "ampemu", None
    try:
        argv = sys.argv[1:] if argv is None else argv
        args = build_parser(argv).parse_args(argv)
        command = f"ampemu {args.command}"
        progress = compile_progress.install()  # after the imports: numba compiles a helper of its own there
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        during = progress is not None and progress.announced
        if during:
            progress.abandon()  # no "compiled ... cached" line: the compile did not finish
        print(f"\n{command}: interrupted" + (" while compiling the kernels (nothing was cached; the next start "
                                             "compiles again)" if during else ""), file=sys.stderr)
        return 130
    except SystemExit:  # argparse's own exit (--help, a bad argument: one line, see Parser)
        raise
    except BaseException as exc:  # noqa: BLE001 - the front door: every failure ends here
        line = expected_failure(exc)
        if line is None:
            traceback.print_exc()
            print(f"{command}: {REPORT}", file=sys.stderr)
            return 1
        print(f"{command}: error: {line}", file=sys.stderr)
        return 2
    finally:
        if progress is not None:
            progress.close()


if __name__ == "__main__":
    sys.exit(main())
