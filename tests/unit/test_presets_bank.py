"""The preset bank: a valid bank loads, every malformed one is refused line by line, state survives."""

import os
import subprocess
import sys
import textwrap

import pytest

from support.data import REPO, data_file
from engine.cli import main
from engine.presets.bank import BankError, load_bank
from engine.presets.current import load_current, save_current

GOOD = """
midi_channel = 3
crossfade_ms = 25
[midi.cc]
next = 80
bypass = 82
[[footswitch]]
pin = 17
press = "next"
long_press = "bypass"
[[preset]]
name = "Klon"
model = "{klon}"
program = 5
[[preset]]
name = "Plexi"
model = "{plexi}"
input_gain_db = 3
"""


@pytest.fixture
def models():
    folder = data_file("models", "seed-profiles")
    return {"klon": folder / "Klon-Centaur.json", "plexi": folder / "Marshall-JMP-Plexi-1968.json"}


def write(tmp_path, text, models):
    path = tmp_path / "bank.toml"
    path.write_text(textwrap.dedent(text).format(**models))
    return path


def test_a_good_bank(tmp_path, models):
    bank = load_bank(write(tmp_path, GOOD, models))
    assert [p.name for p in bank.presets] == ["Klon", "Plexi"]
    assert bank.midi_channel == 3 and bank.crossfade_ms == 25 and bank.cc == {"next": 80, "bypass": 82}
    assert bank.presets[1].input_gain_db == 3 and bank.index_of_program(5) == 0
    assert bank.footswitches[0].long_press == "bypass"


def test_relative_model_paths_resolve_against_the_bank(tmp_path, models):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "k.json").write_bytes(models["klon"].read_bytes())
    bank = load_bank(write(tmp_path, '[[preset]]\nname = "K"\nmodel = "m/k.json"\n', models))
    assert bank.presets[0].model == (tmp_path / "m" / "k.json").resolve()


BAD = [
    ("no-presets", 'midi_channel = 1\n', "no [[preset]] entries"),
    ("too-many-presets", "".join(f'[[preset]]\nname = "P{i}"\nmodel = "{{klon}}"\n' for i in range(33)),
     "33 presets; the engine holds at most 32"),
    ("duplicate-name", '[[preset]]\nname = "A"\nmodel = "{klon}"\n[[preset]]\nname = "A"\nmodel = "{plexi}"\n',
     "another preset has the same name"),
    ("nested-too-deep", "x = " + "[" * 3000 + "]" * 3000 + '\n[[preset]]\nname = "A"\nmodel = "{klon}"\n',
     "not a preset bank (nested too deep)"),
    ("bad-format", '[[preset]]\nname = "A"\nmodel = "a.wav"\n', "is not a .json or .nam file"),
    ("no-name", '[[preset]]\nmodel = "{klon}"\n', "needs a 'name'"),
    ("duplicate-program", '[[preset]]\nname = "A"\nmodel = "{klon}"\nprogram = 1\n'
                          '[[preset]]\nname = "B"\nmodel = "{plexi}"\nprogram = 1\n', "program 1 is already used by preset 'A'"),
    ("unknown-key", '[[preset]]\nname = "A"\nmodel = "{klon}"\nvolume = 3\n', "unknown key 'volume'"),
    ("unknown-global", 'reverb = true\n[[preset]]\nname = "A"\nmodel = "{klon}"\n', "unknown key 'reverb'"),
    ("gain-range", '[[preset]]\nname = "A"\nmodel = "{klon}"\noutput_gain_db = 60\n', "'output_gain_db' must be a number in -40.0..24.0"),
    ("midi-channel", 'midi_channel = 17\n[[preset]]\nname = "A"\nmodel = "{klon}"\n', "'midi_channel' must be an integer in 1..16"),
    ("cc-range", '[midi.cc]\nnext = 200\n[[preset]]\nname = "A"\nmodel = "{klon}"\n', "'next' must be an integer in 0..127"),
    ("cc-twice", '[midi.cc]\nnext = 20\nprevious = 20\n[[preset]]\nname = "A"\nmodel = "{klon}"\n', "controller 20 is mapped to both"),
    ("footswitch-action", '[[footswitch]]\npin = 5\npress = "explode"\n[[preset]]\nname = "A"\nmodel = "{klon}"\n', "'press' must be one of"),
    ("footswitch-pin-twice", '[[footswitch]]\npin = 5\npress = "next"\n[[footswitch]]\npin = 5\npress = "bypass"\n'
                             '[[preset]]\nname = "A"\nmodel = "{klon}"\n', "GPIO 5 is used by two footswitches"),
    ("crossfade", 'crossfade_ms = 0\n[[preset]]\nname = "A"\nmodel = "{klon}"\n', "'crossfade_ms' must be a number in 1.0..500.0"),
    ("curve", 'crossfade_curve = "s-curve"\n[[preset]]\nname = "A"\nmodel = "{klon}"\n', "crossfade_curve: must be one of"),
    ("not-toml", 'name = = "x"\n', "not valid TOML"),
]


@pytest.mark.parametrize("case, text, message", BAD, ids=[b[0] for b in BAD])
def test_malformed_bank(case, text, message, tmp_path, models):
    with pytest.raises(BankError) as info:
        load_bank(write(tmp_path, text, models))
    assert any(message in line and str(tmp_path / "bank.toml") in line for line in info.value.lines), info.value.lines


def test_all_problems_are_reported_at_once(tmp_path, models):
    text = 'midi_channel = 0\ncrossfade_ms = -1\n[[preset]]\nname = "A"\nmodel = "x.json"\nprogram = 300\n'
    with pytest.raises(BankError) as info:
        load_bank(write(tmp_path, text, models))
    assert len(info.value.lines) == 3  # a missing model is the preset's problem, not the bank's (below)


def test_presets_check_loads_every_model_and_reports_levels(tmp_path, models, capsys):
    assert main(["presets", "check", str(write(tmp_path, GOOD, models))]) == 0
    out = capsys.readouterr().out
    assert "ok   Klon: gated WaveNet, 4 channels" in out and "level match" in out and "all good" in out


def test_presets_check_finds_a_broken_model(tmp_path, models, capsys):
    broken = tmp_path / "broken.json"
    broken.write_text(models["plexi"].read_text()[:5000])
    text = GOOD.replace("{plexi}", str(broken))
    assert main(["presets", "check", str(write(tmp_path, text, models))]) == 2
    assert "FAIL preset 'Plexi':" in capsys.readouterr().out


def test_presets_list(tmp_path, models, capsys):
    assert main(["presets", "list", str(write(tmp_path, GOOD, models))]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(" 1. Klon  (program 5") and lines[1].startswith(" 2. Plexi  (program -, in +3.0 dB")


def test_current_preset_round_trip(tmp_path):
    state = tmp_path / "current-preset.json"
    assert load_current(["A", "B"], state) == 0
    save_current("B", state)
    assert load_current(["A", "B"], state) == 1
    assert load_current(["A", "C"], state) == 0  # renamed in the bank: start at the first


def test_a_crash_while_saving_leaves_the_old_state(tmp_path):
    """Kill the writer between writing the temp file and the rename: the old file stays intact."""
    state = tmp_path / "current-preset.json"
    save_current("A", state)
    script = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from engine import atomic
        from engine.presets.current import save_current
        def die(src, dst):
            os.kill(os.getpid(), signal.SIGKILL)
        atomic.os.replace = die
        save_current("B", Path(r"{state}"))
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, timeout=60)
    assert done.returncode == -9
    assert load_current(["A", "B"], state) == 0
    assert state.read_text() == '{"preset": "A"}'
    assert any(p.name.startswith(".current-preset.") for p in tmp_path.iterdir())  # the torn temp file
    save_current("B", state)
    assert load_current(["A", "B"], state) == 1



def test_example_bank_is_valid(models):
    bank_path = REPO / "examples" / "presets.toml"
    if not (REPO / "examples" / "models" / "demo-overdrive.json").exists():
        pytest.fail("examples/models/demo-overdrive.json is missing: the example bank must use a shipped model")
    assert len(load_bank(bank_path).presets) >= 2
    assert os.path.exists(REPO / "pi" / "default-presets.toml")


def test_a_missing_model_is_a_failed_preset_not_a_broken_bank(tmp_path, models, capsys):
    text = GOOD.replace("{plexi}", str(tmp_path / "nowhere.json"))
    bank = load_bank(write(tmp_path, text, models))
    assert [p.name for p in bank.presets] == ["Klon", "Plexi"]
    assert main(["presets", "check", str(bank.path)]) == 2
    out = capsys.readouterr().out
    assert "ok   Klon" in out and "FAIL preset 'Plexi':" in out and "no such model file" in out
