"""The front door for errors, bounded reading, file modes, a bank with a broken preset, the stats
line's stall warning and the compile progress line (issue 15; the corpus runs in
test_malformed_inputs.py, the live path's NaN handling in test_streaming_contract.py)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import numpy as np
import pytest

from support.data import DATA, REPO
from support.presets import seed

from ampemu_tools.bench_models import random_nam
from engine.atomic import write_atomically
from engine.cli import main
from engine.errors import AmpemuError
from engine.formats.json_file import loads_document, read_text_file
from engine.formats.nam import write_nam
from engine.models import load_model
from engine.presets.bank import load_bank
from engine.presets.current import load_current, save_current


def test_a_new_file_gets_0644_under_umask_022_and_an_overwritten_one_keeps_its_mode(tmp_path):
    old = os.umask(0o022)
    try:
        path = write_atomically(tmp_path / "new.json", "{}")
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        path.chmod(0o664)
        write_atomically(path, "{ }")
        assert stat.S_IMODE(path.stat().st_mode) == 0o664 and path.read_text() == "{ }"
    finally:
        os.umask(old)
    assert [p.name for p in tmp_path.iterdir()] == ["new.json"]  # no temp file left behind


@pytest.mark.parametrize("text, message", [
    ("[" * 5000 + "]" * 5000, "nested deeper than 64"),
    ('{"a": ' + "9" * 5000 + "}", "has 5000 digits"),
    ('{"a": 1' + "0" * 400 + "}", "digits"),
    ('{"a": 1e400}', "beyond float range"),
    ('{"a": [1, 2', "invalid or truncated JSON"),
])
def test_json_documents_are_bounded(text, message):
    with pytest.raises(AmpemuError, match=message):
        loads_document(text, "m.nam")


def test_only_regular_files_of_bounded_size_are_read(tmp_path):
    fifo = tmp_path / "fifo.nam"
    os.mkfifo(fifo)
    with pytest.raises(AmpemuError, match="not a regular file"):
        read_text_file(fifo, "model file")  # refused at once: a FIFO would block a plain open()
    with pytest.raises(AmpemuError, match="not a regular file"):
        read_text_file("/dev/zero", "model file")
    with pytest.raises(AmpemuError, match="is a folder"):
        read_text_file(tmp_path, "model file")
    (tmp_path / "big.nam").write_bytes(b" " * 2000)
    with pytest.raises(AmpemuError, match="larger than any model file"):
        read_text_file(tmp_path / "big.nam", "model file", max_bytes=1000)


def test_a_hostile_preset_state_file_starts_on_the_first_preset(tmp_path):
    state = tmp_path / "current-preset.json"
    save_current("B", state)
    assert load_current(["A", "B"], state) == 1
    for text in ("[" * 5000 + "]" * 5000, '{"preset": [1]}', '{"preset": "' + "x" * 10000 + '"}', "garbage"):
        state.write_text(text)
        assert load_current(["A", "B"], state) == 0


def test_a_model_beyond_what_a_pedal_plays_is_refused_before_allocating(tmp_path):
    model = random_nam("nano")
    model.arrays[0].dilations = [65536] * len(model.arrays[0].dilations)  # 7 layers: 14 s of history at 48 kHz
    write_nam(model, tmp_path / "long.nam")
    with pytest.raises(AmpemuError, match=r"long.nam: receptive field \d+ samples \(\d+\.\d s\) is beyond the 10 s"):
        load_model(tmp_path / "long.nam")


def test_weights_that_overflow_are_refused_at_load(tmp_path):
    model = random_nam("nano")
    for array in model.arrays:
        array.rechannel = array.rechannel * np.float32(1e36)  # finite, but products overflow: inf - inf = NaN
        array.conv_weights = [w * np.float32(1e36) for w in array.conv_weights]
    write_nam(model, tmp_path / "loud.nam")
    with pytest.raises(AmpemuError, match="loud.nam: the model's output on a guitar phrase is NaN or infinite"):
        load_model(tmp_path / "loud.nam")


def test_front_door_one_line_for_os_errors_and_a_report_line_for_bugs(tmp_path, capsys, monkeypatch):
    wav = tmp_path / "in.wav"
    import soundfile as sf
    sf.write(wav, np.zeros(100, np.float32), 44100)
    (tmp_path / "out.wav").mkdir()
    assert main(["process", "--model", str(seed("Klon-Centaur")), str(wav), str(tmp_path / "out.wav")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ampemu process: error: ") and "out.wav" in err[0]

    from engine import cli

    parser = cli.build_parser()
    args = parser.parse_args(["info", "x.nam"])
    args._run = lambda a: {}["bug"]
    monkeypatch.setattr(cli, "build_parser", lambda argv: type("P", (), {"parse_args": lambda self, argv: args})())
    assert cli.main(["info", "x.nam"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "KeyError" in err and err.strip().splitlines()[-1].endswith(cli.REPORT)


def test_bad_arguments_are_one_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["bench", "--seconds", "fast"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--seconds" in err[0] and "--help" in err[0]


def bank_with_a_missing_model(tmp_path):
    klon, tweed = seed("Klon-Centaur"), seed("Fender-Tweed-Deluxe")
    path = tmp_path / "bank.toml"
    path.write_text(f'[[preset]]\nname = "Klon"\nmodel = "{klon}"\nprogram = 3\n'
                    f'[[preset]]\nname = "Gone"\nmodel = "{tmp_path / "gone.json"}"\nprogram = 5\n'
                    f'[[preset]]\nname = "Tweed"\nmodel = "{tweed}"\nprogram = 7\n')
    return path


def test_a_bank_with_a_broken_preset_plays_the_rest(tmp_path):
    from engine.presets.live import configure, load_presets
    from engine.realtime.channel import Channel

    said = []
    loaded = load_presets(load_bank(bank_with_a_missing_model(tmp_path)), say=said.append)
    assert loaded.names == ["Klon", "Tweed"] and len(loaded.models) == 2
    assert len(loaded.broken) == 1 and loaded.broken[0].startswith("Gone: ") and "gone.json" in loaded.broken[0]
    assert any("Gone: BROKEN, skipped" in line for line in said)
    channel = Channel(loaded.models)
    configure(channel, loaded, 44100, 0)
    assert channel.midi_map[channel_program(3)] == 0 and channel.midi_map[channel_program(7)] == 1
    assert channel.midi_map[channel_program(5)] == -1  # the broken preset's Program Change is ignored


def channel_program(program: int) -> int:
    from engine.realtime.channel import PROGRAM_SLOT

    return PROGRAM_SLOT + program


def test_doctor_names_a_broken_preset(tmp_path):
    from engine.commands.doctor import FAIL, bank_models

    models, broken = bank_models(bank_with_a_missing_model(tmp_path))
    assert [name for name, _ in models] == ["Klon", "Tweed"]
    assert len(broken) == 1 and broken[0].verdict == FAIL and "'Gone'" in broken[0].check


def test_stats_line_warns_when_audio_stops():
    from engine.commands.run import stats_line
    from engine.realtime.channel import BLOCKS, HISTOGRAM_BINS, NON_FINITE, STATS_SIZE, TIME_SUM_NS, Snapshot

    def snap(blocks, non_finite=0):
        stats = np.zeros(STATS_SIZE, np.int64)
        stats[BLOCKS], stats[TIME_SUM_NS], stats[NON_FINITE] = blocks, blocks * 20_000, non_finite
        histogram = np.zeros(HISTOGRAM_BINS, np.int64)
        histogram[200] = blocks
        return Snapshot(stats, histogram)

    playing = stats_line(snap(9000), snap(3445), 44100, 64, 5.0)
    assert not playing.startswith("WARNING") and "NaN" not in playing
    stopped = stats_line(snap(9000), snap(0), 44100, 64, 5.0, broken=1)
    assert stopped.startswith("WARNING: audio stopped: 0 of about 3445 blocks in the last 5 s")
    assert stopped.endswith("1 broken preset(s) skipped")
    assert "stalling" in stats_line(snap(9000), snap(1000), 44100, 64, 5.0)
    assert "2 blocks with NaN/Inf audio" in stats_line(snap(9000, 2), snap(3445, 2), 44100, 64, 5.0)


def test_compile_progress_announces_a_compile_and_its_end():
    import io

    from engine.compile_progress import CompileProgress

    stream = io.StringIO()
    progress = CompileProgress(stream)
    progress.on_start(None)
    progress.on_start(None)  # a nested compile: no second announcement
    assert progress.compiling
    progress.on_end(None)
    progress.on_end(None)
    progress.close()
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("ampemu: compiling the real-time kernels for this CPU (once")
    assert lines[-1].startswith("ampemu: compiled 2 kernel functions in") and len(lines) == 2
    assert not progress.compiling


def test_ctrl_c_during_a_compile_is_one_line(capsys, monkeypatch):
    from engine import cli, compile_progress

    def interrupted_compile(args):
        compile_progress.install().on_start(None)
        raise KeyboardInterrupt

    parser = cli.build_parser()
    args = parser.parse_args(["info", "x.nam"])
    args._run = interrupted_compile
    monkeypatch.setattr(cli, "build_parser", lambda argv: type("P", (), {"parse_args": lambda self, argv: args})())
    try:
        assert cli.main(["info", "x.nam"]) == 130
    finally:
        compile_progress.install().on_end(None)
        compile_progress.install().abandon()
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip() and "compil" not in line[:16]]
    assert err == ["ampemu info: interrupted while compiling the kernels (nothing was cached; the next start "
                   "compiles again)"]


def test_a_cold_start_says_it_compiles_and_ctrl_c_ends_it_in_one_line(tmp_path):
    """From an empty numba cache: the compile is announced on stderr, and SIGINT during it exits 130
    with one line and no traceback."""
    import signal
    import subprocess
    import sys

    env = dict(os.environ, AMPEMU_NUMBA_CACHE=str(tmp_path / "cache"), PYTHONPATH=str(REPO))
    model = DATA / "malformed" / "models" / "tiny.nam"
    # as from a terminal: SIGINT at its default (an ignored SIGINT, as some test before may leave it in this
    # process, is inherited through exec, and Python then keeps ignoring Ctrl-C: a CI run saw exit 0)
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "info", str(model)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        first = proc.stderr.readline()
        assert first.startswith("ampemu: compiling the real-time kernels for this CPU (once"), first
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == ["ampemu info: interrupted while compiling the kernels (nothing was cached; the next start "
                     "compiles again)"], err
    assert out == ""


SIGTERM_WHILE_EVENT_LOCKED = """
import os, signal, threading, types
from engine.commands import run

host = types.SimpleNamespace(stopped=threading.Event(), channel=types.SimpleNamespace(snapshot=lambda: None))
terminate = run.StopRequest()
signal.signal(signal.SIGTERM, terminate)
with host.stopped._cond:  # where Event.wait holds it: a handler that called Event.set() would wait forever
    os.kill(os.getpid(), signal.SIGTERM)
    for _ in range(1000):  # the handler runs between two of these bytecodes
        pass
args = types.SimpleNamespace(duration=None, stats=False, stats_interval=5.0)
run._main_loop(args, host, terminate, None, None)
print("stopped")
"""


def test_sigterm_that_lands_inside_event_wait_still_stops_the_main_loop():
    result = subprocess.run([sys.executable, "-c", SIGTERM_WHILE_EVENT_LOCKED], cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "stopped"
