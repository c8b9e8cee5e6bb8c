"""Every malformed input in tests/data/malformed (made by tests/data/make_malformed.py), plus special
files made here (FIFOs, links to /dev/zero, folders named like files, unwritable outputs), through
every command that reads it: exit code 2, one line on stderr, no traceback, within 30 s and 1.5 GB.

The command lines run in batches inside one child process (tests/support/drive_cli.py) with its
address space capped at 1.5 GiB and an alarm per command line, so the suite pays for one interpreter
start per batch, not per case.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from support.data import DATA, REPO

CORPUS = DATA / "malformed"
DRIVER = REPO / "tests" / "support" / "drive_cli.py"
MAX_SECONDS = 30
MAX_MB = 1536
VALID = {"tiny.nam"}  # the one good model the banks and renders use


def drive(argvs: list[list[str]], address_space: int = MAX_MB * 2**20) -> list[dict]:
    env = dict(os.environ, PYTHONPATH=str(REPO), AMPEMU_DRIVE_AS_BYTES=str(address_space))
    proc = subprocess.run([sys.executable, str(DRIVER)], input=json.dumps(argvs), capture_output=True,
                          text=True, cwd=REPO, env=env, timeout=MAX_SECONDS * len(argvs) + 120)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout)


def problems(results: list[dict], stdout_lines_allowed: bool = False) -> list[str]:
    """What each result got wrong (empty when every case kept the promise)."""
    wrong = []
    for r in results:
        lines = [line for line in r["stderr"].splitlines()
                 if line.strip() and not line.startswith(("ampemu: compil", "  compiling"))]
        why = []
        if r["code"] != 2:
            why.append(f"exit {r['code']}")
        if "Traceback" in r["stderr"] + r["stdout"]:
            why.append("traceback")
        if len(lines) != 1 and not (stdout_lines_allowed and not lines):
            why.append(f"{len(lines)} stderr lines")
        if "out of memory" in r["stderr"]:
            why.append("ran out of memory instead of refusing")
        if r["seconds"] >= MAX_SECONDS or r["peak_rss_mb"] >= MAX_MB:
            why.append(f"{r['seconds']} s, {r['peak_rss_mb']} MB")
        if why:
            wrong.append(f"{' '.join(r['argv'])}: {', '.join(why)}: {(lines or [r['stdout'][-300:]])[-1][:300]}")
    return wrong


@pytest.fixture(scope="module")
def place(tmp_path_factory) -> Path:
    """A work folder: a valid input WAV, the special files git cannot hold."""
    root = tmp_path_factory.mktemp("malformed")
    sf.write(root / "in.wav", (0.1 * np.sin(np.arange(4800) / 10)).astype(np.float32), 48000, subtype="FLOAT")
    for ext in ("nam", "json", "wav", "toml", "ckpt"):
        os.mkfifo(root / f"fifo.{ext}")
        (root / f"zero.{ext}").symlink_to("/dev/zero")
        (root / f"folder.{ext}").mkdir()
    return root


def special(place: Path, ext: str) -> list[str]:
    return [str(place / f"{kind}.{ext}") for kind in ("fifo", "zero", "folder")] + [str(place / f"missing.{ext}")]


def bad_models(place: Path) -> list[str]:
    files = sorted(str(p) for p in (CORPUS / "models").iterdir() if p.name not in VALID)
    return files + special(place, "nam") + special(place, "json")[:3]


def test_the_corpus_is_what_its_script_makes_and_at_least_sixty_files(tmp_path):
    sys.path.insert(0, str(DATA))
    try:
        from make_malformed import make
    finally:
        sys.path.remove(str(DATA))
    assert make(tmp_path) >= 60
    made = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    committed = {p.relative_to(CORPUS): p.read_bytes() for p in CORPUS.rglob("*") if p.is_file()}
    assert made == committed, "run python tests/data/make_malformed.py and commit the corpus"


def test_every_bad_model_is_refused_by_info_process_and_bench(place):
    out = str(place / "out.wav")
    argvs = []
    for model in bad_models(place):
        argvs += [["info", model], ["process", "--model", model, str(place / "in.wav"), out],
                  ["bench", model, "--blocks", "64", "--seconds", "0.01", "--backends", "numba-exact", "--no-progress"]]
    results = drive(argvs)
    assert not problems(results), "\n".join(problems(results))
    assert not (place / "out.wav").exists()  # nothing half-written
    said = {Path(r["argv"][1]).name: r["stderr"] for r in results if r["argv"][0] == "info"}
    for name, reason in WHY.items():
        assert reason in said[name], said[name]


WHY = {  # models within every per-field limit that a pedal still cannot play: refused for this reason
    "receptive_field_1e9.nam": "is beyond the 10 s a pedal can play",
    "state_over_64mb.nam": "MB, more than the 64 MB a pedal holds per model",
    "prewarm_minutes.nam": "its prewarm (",
    "weights_x1e36.nam": "output on a guitar phrase is NaN or infinite",
    "nested_5000.nam": "nested deeper than 64 levels",
    "int_5000_digits_in_weights.nam": "has 5000 digits",
    "float_overflow_weight.nam": "beyond float range",
}


def test_every_bad_model_fails_presets_check_in_its_bank(place):
    argvs = []
    for i, model in enumerate(bad_models(place)):
        bank = place / f"bank{i}.toml"
        bank.write_text(f'[[preset]]\nname = "good"\nmodel = "{CORPUS / "models" / "tiny.nam"}"\n'
                        f'[[preset]]\nname = "bad"\nmodel = "{model}"\n')
        argvs.append(["presets", "check", str(bank)])
    results = drive(argvs)
    assert not problems(results, stdout_lines_allowed=True), "\n".join(problems(results, True))
    for r in results:  # the good preset is still checked, the bad one named
        assert "ok   good" in r["stdout"] and "FAIL" in r["stdout"] + r["stderr"], r


def test_every_bad_bank_is_refused(place):
    banks = sorted(str(p) for p in (CORPUS / "banks").iterdir()) + special(place, "toml")
    results = drive([["presets", action, bank] for bank in banks for action in ("check", "list")])
    results = [r for r in results if not (r["argv"][1] == "list" and r["code"] == 0)]  # list reads no model
    assert not problems(results, stdout_lines_allowed=True), "\n".join(problems(results, True))


def test_every_bad_wav_and_output_is_refused_by_process(place):
    model = str(CORPUS / "models" / "tiny.nam")
    wav_in = str(place / "in.wav")
    wavs = sorted(str(p) for p in (CORPUS / "wavs").iterdir()) + special(place, "wav")
    argvs = [["process", "--model", model, wav, str(place / "out.wav")] for wav in wavs]
    argvs += [["process", "--model", model, wav_in, str(place / "folder.wav")],  # output onto a folder
              ["process", "--model", model, wav_in, str(place / "no" / "such" / "out.wav")],
              ["process", "--model", model, wav_in, wav_in],  # onto its own input
              ["process", "--model", model, "--block", "0", wav_in, str(place / "out.wav")],
              ["bench", "nam-nano", "--blocks", "100000000", "--no-progress"],
              ["bench", "nam-nano", "--seconds", "nan", "--no-progress"],
              ["bench", "nam-nano", "--blocks", "64", "--seconds", "0.01", "--backends", "numba-exact", "--no-progress",
               "--json", str(place / "folder.json")]]
    results = drive(argvs)
    assert not problems(results), "\n".join(problems(results))
    assert sf.read(wav_in)[0].size == 4800  # the input survived


def test_training_commands_refuse_bad_captures_checkpoints_and_run_dirs(place):
    """train, export and test on bad WAVs, checkpoints and run folders (torch: one batch, no address cap:
    torch maps more address space than it uses; the peak RSS is still checked)."""
    pytest.importorskip("torch")
    wav_in = str(place / "in.wav")
    (place / "a-file").write_text("x")
    run = str(place / "run")
    wavs = sorted(str(p) for p in (CORPUS / "wavs").iterdir()) + special(place, "wav")
    ckpts = sorted(str(p) for p in (CORPUS / "checkpoints").iterdir()) + special(place, "ckpt")
    argvs = [["train", "--input", wav, "--output", wav_in, "--run-dir", run] for wav in wavs]
    argvs += [["train", "--input", wav_in, "--output", wav_in, "--run-dir", str(place / "a-file")],
              ["train", "--input", wav_in, "--output", wav_in, "--run-dir", run, "--dilations", "0,-1"],
              ["train", "--input", wav_in, "--output", wav_in, "--run-dir", run, "--max-time", "nan"]]
    argvs += [["train", "--input", wav_in, "--output", wav_in, "--run-dir", run, "--resume", c] for c in ckpts]
    argvs += [["export", "--checkpoint", c, "--format", "nam", "--out", str(place / "x.nam")] for c in ckpts]
    results = drive(argvs, address_space=0)
    assert not problems(results), "\n".join(problems(results))
    assert not Path(run).exists()  # refused before anything was written
