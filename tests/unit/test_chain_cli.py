"""The chain everywhere the model is: process/info/bench flags, preset keys, `presets check` on IR files."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from support.audio import guitar_like
from support.data import REPO, data_file
from test_chain import cabinet, write_ir
from test_presets_bank import GOOD, write

from engine.chain.chain import attach
from engine.chain.settings import ChainSettings
from engine.cli import main
from engine.models import load_model
from engine.presets.bank import BankError, load_bank
from engine.render import render

MODEL = data_file("models", "seed-profiles", "Klon-Centaur.json")


@pytest.fixture
def models():
    folder = data_file("models", "seed-profiles")
    return {"klon": folder / "Klon-Centaur.json", "plexi": folder / "Marshall-JMP-Plexi-1968.json"}


def test_process_plays_the_chain_from_its_flags(tmp_path, capsys):
    sf.write(tmp_path / "in.wav", guitar_like(0.5, 44100), 44100, subtype="FLOAT")
    ir = write_ir(tmp_path / "cab.wav", cabinet(0.1, 48000), 48000)  # resampled to the model's 44.1 kHz
    argv = ["process", "--model", str(MODEL), str(tmp_path / "in.wav"), str(tmp_path / "out.wav"), "--ir", str(ir),
            "--gate", "-70", "--gate-hold", "25", "--gate-hysteresis", "6", "--eq", "3,-2,1.5", "--highpass", "60",
            "--block", "100"]
    assert main(argv) == 0
    settings = ChainSettings(ir=ir, gate_db=-70.0, gate_hold_ms=25.0, gate_hysteresis_db=6.0, bass=3.0, mid=-2.0,
                             treble=1.5, highpass_hz=60.0)
    expected = render(attach(load_model(MODEL), settings), sf.read(tmp_path / "in.wav", dtype="float32")[0])
    assert np.array_equal(sf.read(tmp_path / "out.wav", dtype="float32")[0], expected)


@pytest.mark.parametrize("flags, message", [
    (["--eq", "1,2"], "--eq 1,2: give three gains in dB"),
    (["--eq", "50,0,0"], "--eq: 'bass' must be a number in -20..20"),
    (["--gate", "loud"], "--gate loud: give the threshold in dB"),
    (["--highpass", "-5"], "--highpass: 'highpass_hz' must be a number in 0..400"),
    (["--gate-hold", "5000"], "--gate-hold: 'gate_hold_ms' must be a number in 0..1000"),
    (["--gate-hysteresis", "-3"], "--gate-hysteresis: 'gate_hysteresis_db' must be a number in 0..20"),
    (["--ir", "nowhere.wav"], "nowhere.wav: no such impulse response file"),
])
def test_bad_chain_flags_are_one_line(tmp_path, capsys, flags, message):
    sf.write(tmp_path / "in.wav", guitar_like(0.1, 44100), 44100)
    assert main(["process", "--model", str(MODEL), str(tmp_path / "in.wav"), str(tmp_path / "o.wav")] + flags) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], lines
    assert not (tmp_path / "o.wav").exists()


def test_info_on_an_impulse_response(tmp_path, capsys):
    ir = write_ir(tmp_path / "cab.wav", cabinet(0.2, 44100), 44100)
    assert main(["info", str(ir)]) == 0
    out = capsys.readouterr().out
    assert "8820 samples at 44100 Hz (200.0 ms)" in out and "peak -10.5 dBFS" in out
    assert "9600 taps = 64-tap direct head + 149 FFT partitions" in out and "added latency 0 samples" in out


def test_preset_chain_keys_parse_and_are_checked_line_by_line(tmp_path, models, capsys):
    ir = write_ir(tmp_path / "cab.wav", cabinet(0.1, 44100), 44100)
    text = GOOD.replace('program = 5', 'program = 5\nir = "cab.wav"\nir_normalize = true\ngate_db = -65\n'
                        'gate_release_ms = 80\ngate_hold_ms = 30\ngate_hysteresis_db = 4\nbass = 2\nmid = -1.5\n'
                        'treble = 3\nhighpass_hz = 40')
    text = text.replace("bypass = 82", "bypass = 82\ngate = 90\nbass = 91\nmid = 92\ntreble = 93")
    bank = load_bank(write(tmp_path, text, models))
    chain = bank.presets[0].chain
    assert chain == ChainSettings(ir=ir.resolve(), ir_normalize=True, gate_db=-65.0, gate_release_ms=80.0,
                                  gate_hold_ms=30.0, gate_hysteresis_db=4.0, bass=2.0, mid=-1.5, treble=3.0,
                                  highpass_hz=40.0)
    assert bank.presets[1].chain == ChainSettings()
    assert bank.cc["gate"] == 90 and bank.cc["treble"] == 93
    bad = (text.replace('ir = "cab.wav"', 'ir = "missing.wav"').replace("bass = 2\n", "bass = 99\n")
           .replace("gate_db = -65", 'gate_db = "loud"').replace("gate_hysteresis_db = 4", "gate_hysteresis_db = 40"))
    with pytest.raises(BankError) as info:
        load_bank(write(tmp_path, bad, models))
    assert len(info.value.lines) == 4
    assert any("'gate_hysteresis_db' must be a number in 0.0..20.0, got 40" in line for line in info.value.lines)
    assert any("missing.wav not found" in line for line in info.value.lines)
    assert any("'bass' must be a number in -20.0..20.0, got 99" in line for line in info.value.lines)
    assert load_bank(write(tmp_path, text.replace("gate_db = -65", 'gate_db = "off"'), models)).presets[0].chain.gate_db is None


def test_presets_check_loads_impulse_responses(tmp_path, models, capsys):
    write_ir(tmp_path / "cab.wav", cabinet(0.1, 44100), 44100)
    (tmp_path / "junk.wav").write_bytes(b"RIFF nonsense")
    text = GOOD.replace('program = 5', 'program = 5\nir = "cab.wav"').replace('input_gain_db = 3', 'ir = "junk.wav"')
    assert main(["presets", "check", str(write(tmp_path, text, models))]) == 2
    out = capsys.readouterr().out
    assert "ok   Klon: gated WaveNet, 4 channels" in out and "IR cab.wav (4410 samples)" in out
    fail = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert len(fail) == 1 and "preset 'Plexi'" in fail[0] and "junk.wav: not a readable audio file" in fail[0]


def test_a_bank_plays_past_a_broken_model_or_ir_and_keeps_the_chains_of_the_rest(tmp_path):
    """A preset with chain keys whose model or IR is unusable is skipped by `run` and named by `doctor`;
    the presets that load keep their own chains."""
    from engine.commands.doctor import bank_models
    from engine.presets.live import load_presets

    write_ir(tmp_path / "cab.wav", cabinet(0.1, 44100), 44100)
    (tmp_path / "junk.wav").write_bytes(b"RIFF nonsense")
    path = tmp_path / "bank.toml"
    path.write_text(f'[[preset]]\nname = "Klon"\nmodel = "{MODEL}"\nir = "cab.wav"\nbass = 2\n'
                    f'[[preset]]\nname = "Gone"\nmodel = "{tmp_path / "gone.json"}"\nir = "cab.wav"\ntreble = 3\n'
                    f'[[preset]]\nname = "Junk"\nmodel = "{MODEL}"\nir = "junk.wav"\nprogram = 4\n')
    said = []
    loaded = load_presets(load_bank(path), say=said.append)
    assert loaded.names == ["Klon"] and loaded.models[0].chain.settings.bass == 2.0
    assert loaded.models[0].chain.ir is not None
    assert [line.split(":")[0] for line in loaded.broken] == ["Gone", "Junk"]
    assert "gone.json" in loaded.broken[0] and "junk.wav: not a readable audio file" in loaded.broken[1]
    models, broken = bank_models(path)
    assert [name for name, _ in models] == ["Klon"]
    assert ["'Gone'" in broken[0].check, "junk.wav" in broken[1].detail] == [True, True]


def test_bench_reports_the_chain_per_stage(tmp_path, capsys):
    ir = write_ir(tmp_path / "cab.wav", cabinet(0.2, 48000), 48000)
    assert main(["bench", "nam-nano", "--backends", "numba-exact", "--blocks", "64", "--seconds", "0.2",
                 "--no-progress", "--ir", str(ir), "--gate", "-60", "--eq", "1,1,1"]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("| block | model alone"))
    assert "gate -60 dB | tone stack | IR cab.wav | high-pass 20 Hz | whole chain | model + chain | ratio" in header
    row = out.splitlines()[out.splitlines().index(header) + 2]
    assert row.startswith("| 64 | ") and row.endswith("x |")


def test_nam_levels_are_calibrated_against_the_interface(tmp_path):
    """NAM's plugin: input gain = interface input dBu - the capture's input_level_dbu; output gain =
    its output_level_dbu - the interface's output dBu (lstm.nam records 18.3 and 12.3 dBu)."""
    from engine.chain.levels import calibration_db
    from engine.presets.live import load_presets

    nam = data_file("models", "nam-a2", "lstm.nam")
    bank_file = tmp_path / "bank.toml"
    bank_file.write_text(f'level_match = false\ninterface_input_dbu = 12.0\ninterface_output_dbu = 6.0\n'
                         f'[[preset]]\nname = "bass"\nmodel = "{nam}"\ninput_gain_db = 1.0\n')
    lines = []
    loaded = load_presets(load_bank(bank_file), say=lines.append)
    assert loaded.input_db[0] == pytest.approx(1.0 + 12.0 - 18.3)
    assert loaded.output_db[0] == pytest.approx(loaded.models[0].output_gain_db + 12.3 - 6.0)
    assert "input calibrated -6.3 dB (captured at 18.3 dBu)" in lines[-1]
    assert calibration_db({"input_level_dbu": 18.3}, None, 6.0) == (0.0, 0.0, [])  # nothing configured, nothing done


def test_the_chain_needs_no_scipy(tmp_path):
    """The Pi runtime carries no scipy: loading (and resampling) an IR and playing the chain works with
    scipy unimportable."""
    import subprocess
    import sys
    import textwrap

    ir = write_ir(tmp_path / "cab.wav", cabinet(0.05, 48000), 48000)
    script = textwrap.dedent(f"""
        import sys
        class NoScipy:
            def find_spec(self, name, path=None, target=None):
                if name == "scipy" or name.startswith("scipy."):
                    raise ImportError("scipy is not installed on this Pi")
        sys.meta_path.insert(0, NoScipy())
        import numpy as np
        from engine.chain.chain import attach
        from engine.chain.settings import ChainSettings
        from engine.models import load_model
        from engine.render import render
        m = attach(load_model(r"{MODEL}"), ChainSettings(ir=r"{ir}", gate_db=-60.0, bass=1.0))
        y = render(m, np.sin(np.arange(4410, dtype=np.float32) * 0.05) * 0.3)
        assert np.all(np.isfinite(y)) and np.abs(y).max() > 0 and "scipy" not in sys.modules
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ok")
