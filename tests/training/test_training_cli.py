"""train / predict / test / export / demo end to end on a tiny model and a 3 s capture."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from support.data import REPO
from support.audio import guitar_like
from engine.cli import main
from engine.models import load_model
from engine.render import render

RATE = 44100
TINY = ["--preset", "seed", "--channels", "2", "--dilations", "1,2,4", "--window", "2048", "--batch-size", "2",
        "--threads", "1"]


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    from training.synthetic import overdrive

    folder = tmp_path_factory.mktemp("capture")
    x = guitar_like(3.0, RATE)
    sf.write(folder / "input.wav", x, RATE, subtype="FLOAT")
    sf.write(folder / "output.wav", overdrive(x.astype(np.float64), RATE), RATE, subtype="FLOAT")
    return folder


@pytest.fixture(scope="module")
def run_dir(capture, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "run"
    assert main(["train", "--input", str(capture / "input.wav"), "--output", str(capture / "output.wav"),
                 "--run-dir", str(out), "--max-epochs", "2", *TINY]) == 0
    return out


def test_train_writes_the_run_directory(run_dir):
    assert (run_dir / "checkpoints" / "best.ckpt").exists() and (run_dir / "checkpoints" / "last.ckpt").exists()
    config = json.loads((run_dir / "config.json").read_text())
    assert config["architecture_config"] == {"channels": 2, "kernel_size": 3, "dilations": [1, 2, 4]}
    assert config["receptive_field"] == 15 and config["sample_rate"] == RATE and config["delay_samples"] == 0
    metrics = (run_dir / "metrics.csv").read_text().splitlines()
    assert "val_esr" in metrics[0] and len(metrics) > 3
    summary = json.loads((run_dir / "summary.json").read_text())
    val = [float(r.split(",")[-1]) for r in metrics[1:] if r.split(",")[-1]]
    assert summary["best_val_esr"] == pytest.approx(min(val))  # best.ckpt is the lowest validation ESR
    model = load_model(run_dir / "model.json")
    assert model.sample_rate == RATE and model.metadata["validation_esr"] == pytest.approx(min(val), abs=1e-6)


def test_exported_model_renders_what_predict_renders(run_dir, capture, tmp_path):
    ckpt = run_dir / "checkpoints" / "best.ckpt"
    assert main(["predict", "--checkpoint", str(ckpt), str(capture / "input.wav"), str(tmp_path / "pred.wav")]) == 0
    assert main(["export", "--checkpoint", str(ckpt), "--format", "json", "--out", str(tmp_path / "m.json")]) == 0
    predicted, rate = sf.read(tmp_path / "pred.wav", dtype="float32")
    x, _ = sf.read(capture / "input.wav", dtype="float32")
    rendered = render(load_model(tmp_path / "m.json"), x)
    assert rate == RATE and np.max(np.abs(predicted)) > 0.01
    assert np.max(np.abs(rendered - predicted)) <= 2e-5


def test_test_command_writes_metrics_and_plots(run_dir, capture, tmp_path):
    out = tmp_path / "test"
    assert main(["test", "--checkpoint", str(run_dir / "checkpoints" / "best.ckpt"), "--input",
                 str(capture / "input.wav"), "--output", str(capture / "output.wav"), "--out-dir", str(out)]) == 0
    values = json.loads((out / "metrics.json").read_text())
    assert values["samples"] == 3 * RATE - round(0.9 * 3 * RATE)  # the last 10 %
    assert 0 < values["esr"] < 2 and values["snr_db"] == pytest.approx(-10 * np.log10(values["esr"]), abs=1e-6)
    for name in ("waveform", "error", "error_spectrogram", "spectra"):
        assert (out / f"{name}.png").stat().st_size > 10000


def test_bad_checkpoint_is_one_line(tmp_path, capsys):
    bad = tmp_path / "x.ckpt"
    bad.write_text("not a checkpoint")
    assert main(["export", "--checkpoint", str(bad), "--out", str(tmp_path / "m.json")]) == 2
    assert "x.ckpt: not an ampemu training checkpoint" in capsys.readouterr().err


def test_ctrl_c_leaves_a_usable_checkpoint_and_model(capture, tmp_path):
    import lightning as L

    from training.fit import TrainConfig, train

    class PressCtrlC(L.Callback):
        def on_train_batch_end(self, trainer, *args):
            if trainer.global_step == 3:
                raise KeyboardInterrupt

    summary = train(TrainConfig(input=str(capture / "input.wav"), output=str(capture / "output.wav"),
                                run_dir=str(tmp_path / "run"), preset="seed", channels=2, dilations=[1, 2],
                                window=2048, batch_size=2, max_epochs=5, progress=False,
                                extra_callbacks=[PressCtrlC()]))
    assert summary["interrupted"] and summary["steps"] == 3
    assert summary["best_checkpoint"].endswith("interrupted.ckpt")  # no validation had run yet
    assert load_model(tmp_path / "run" / "model.json").receptive_field == 7
    # and training resumes from it
    resumed = train(TrainConfig(input=str(capture / "input.wav"), output=str(capture / "output.wav"),
                                run_dir=str(tmp_path / "run"), resume=summary["best_checkpoint"], window=2048,
                                batch_size=2, max_epochs=1, progress=False))
    assert not resumed["interrupted"] and resumed["steps"] > 3


def test_ddp_on_cpu_with_two_processes(capture, tmp_path):
    """Lightning's DDP (what multi-GPU users run), shown here with 2 CPU processes and gloo."""
    out = tmp_path / "ddp"
    with socket.socket() as probe:  # a free port for the ranks' rendezvous (29500 may be taken)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ, PYTHONPATH=str(REPO), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    result = subprocess.run([sys.executable, "-m", "engine.cli", "train", "--input", str(capture / "input.wav"),
                             "--output", str(capture / "output.wav"), "--run-dir", str(out), "--max-epochs", "1",
                             "--accelerator", "cpu", "--devices", "2", "--strategy", "ddp", *TINY],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    config = json.loads((out / "config.json").read_text())
    assert config["devices"] == 2 and config["strategy"] == "ddp"
    # each rank saw half of the train windows: 51 windows (52 with the sampler's padding) / 2 ranks / batch 2
    assert json.loads((out / "summary.json").read_text())["steps"] == 13
    assert load_model(out / "model.json").sample_rate == RATE


def test_demo_runs_the_whole_story(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out-dir", str(out), "--minutes", "5", "--max-steps", "25", "--seed", "3", "--seconds", "4",
                 "--threads", "1"]) == 0
    text = capsys.readouterr().out
    assert "training: 25 steps in" in text
    assert "engine render of the test take: ESR" in text and "real-time factor" in text
    for name in ("input.wav", "output.wav", "model.nam", "test_engine.wav", "test/metrics.json", "test/waveform.png"):
        assert (out / name).exists(), name
    # the engine's render of the test take matches the torch test within the equivalence bound
    rendered, _ = sf.read(out / "test_engine.wav", dtype="float32")
    target, _ = sf.read(out / "test_target.wav", dtype="float32")
    tested = json.loads((out / "test" / "metrics.json").read_text())
    engine_esr = np.sum((target - rendered) ** 2) / np.sum(target ** 2)
    assert engine_esr == pytest.approx(tested["esr"], rel=1e-3)  # same model, same samples, same context


def test_demo_refuses_a_folder_that_is_not_its_own(tmp_path, capsys):
    (tmp_path / "mine.txt").write_text("keep me")
    assert main(["demo", "--out-dir", str(tmp_path), "--minutes", "0.01"]) == 2
    assert "exists and is not a demo folder" in capsys.readouterr().err
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_command_modules_import_without_torch():
    code = ("import sys, engine.cli as c; c.build_parser(); "
            "bad = [m for m in ('torch', 'lightning') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=60)
