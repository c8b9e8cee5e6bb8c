"""`ampemu presets check|list FILE`: validate a preset bank and show what it holds."""

from __future__ import annotations

from engine.chain.chain import attach
from engine.chain.settings import ChainSettings
from engine.errors import AmpemuError
from engine.models import load_model
from engine.presets.bank import default_bank_path, load_bank
from engine.presets.loudness import loudness_db, matching_gain_db


def add_arguments(p) -> None:
    p.add_argument("action", choices=["check", "list"], help="check: validate everything and load every model; "
                   "list: show the presets")
    p.add_argument("bank", nargs="?", default=None, help="bank file (default: ~/.config/ampemu/presets.toml, "
                   "else /etc/ampemu/presets.toml)")


def check_model(path, bank, chain: ChainSettings | None = None) -> tuple[object, str]:
    """Load a preset's model with its signal chain (raises AmpemuError with one line: a bad model or IR
    file; the IR is loaded and resampled as `run` will) and measure it: (model, its ok line's tail).
    `ampemu presets check` runs it on every preset; the web page's upload on each uploaded model."""
    model = attach(load_model(path), chain or ChainSettings())
    level = loudness_db(model)
    gain = matching_gain_db(level, bank.target_loudness_db) if bank.level_match else 0.0
    return model, (f"{model.description}, {model.sample_rate} Hz; {model.chain.describe()}; plays at {level:.1f} dBFS"
                   + (f", level match {gain:+.1f} dB" if bank.level_match else ""))


def run(args) -> int:
    bank = load_bank(args.bank or default_bank_path())
    if args.action == "list":
        for i, preset in enumerate(bank.presets):
            program = "-" if preset.program is None else preset.program
            print(f"{i + 1:2d}. {preset.name}  (program {program}, in {preset.input_gain_db:+.1f} dB, "
                  f"out {preset.output_gain_db:+.1f} dB)  {preset.model}")
        return 0
    problems = []
    rates = set()
    for preset in bank.presets:
        try:
            model, summary = check_model(preset.model, bank, preset.chain)
        except AmpemuError as exc:
            problems.append(f"preset '{preset.name}': {exc}")
            continue
        rates.add(model.sample_rate)
        print(f"ok   {preset.name}: {summary}")
    if len(rates) > 1:  # playable (resampled), but each resampled preset costs latency: say so
        print(f"note {bank.path}: the models mix sample rates {sorted(rates)}; those at another rate than "
              "JACK's play resampled (about 1.2 ms more latency)")
    for line in problems:
        print(f"FAIL {line}")
    print(f"{bank.path}: {len(bank.presets)} presets, " + (f"{len(problems)} problem(s)" if problems else "all good"))
    return 2 if problems else 0
