"""The nam-a2 preset: NAM 0.13's default SlimmableContainer (A2-Lite and A2-Full) trained jointly and
exported as a .nam whose every size the engine plays as the torch forward does (prewarm semantics:
tests/training/test_training_nam.py), in the layout of NAM's own export (fuzzface_a2.nam)."""

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from support.audio import guitar_like
from support.data import data_file
from engine.cli import main
from engine.errors import AmpemuError
from engine.models import load_model
from engine.render import render
from training.export import export
from training.model import NamA2WaveNet, nam_a2_config
from training.module import CaptureModule, esr_loss

RATE = 48000
NAMS_OWN = data_file("models", "nam-a2", "fuzzface_a2.nam")


@pytest.fixture(scope="module")
def module() -> CaptureModule:
    torch.manual_seed(0)
    module = CaptureModule(preset="nam-a2", sample_rate=RATE).eval()
    with torch.no_grad():
        module.net.input_gain.fill_(10.0)  # what fit() sets for a guitar DI: export must fold it into both
    return module


@pytest.fixture(scope="module")
def exported(module, tmp_path_factory):
    module.best_val_esr = 0.0123
    return export(module, tmp_path_factory.mktemp("a2") / "a2.nam", "nam", name="my-a2")


@pytest.fixture(scope="module")
def audio():
    return guitar_like(0.25, RATE, seed=4)


@pytest.fixture(scope="module")
def expected(module, audio) -> list[np.ndarray]:
    """Each submodel's padded forward of prewarm_samples zeros then the audio, the zeros' outputs dropped."""
    warm = module.net.prewarm_samples
    signal = torch.cat([torch.zeros(warm), torch.from_numpy(audio)])
    with torch.no_grad():
        return [out[0, 0, warm:].numpy() for out in module.net.submodel_outputs(signal[None, None], pad=True)]


@pytest.mark.parametrize("slim, submodel", [(0.25, 0), (1.0, 1)])
def test_each_size_plays_its_torch_submodel(exported, audio, expected, slim, submodel):
    got = render(load_model(exported, slim=slim), audio, block=64)
    assert np.max(np.abs(expected[submodel])) > 0.05  # a live model, not a silent one
    assert np.max(np.abs(expected[0] - expected[1])) > 1e-2  # the two sizes are different models
    assert np.max(np.abs(got - expected[submodel])) <= 5e-5


def test_the_file_is_laid_out_as_nams_own(exported):
    ours, theirs = json.loads(exported.read_text()), json.loads(NAMS_OWN.read_text())
    assert ours.keys() == theirs.keys() and ours["config"].keys() == theirs["config"].keys()
    assert (ours["version"], ours["architecture"], ours["weights"]) == (theirs["version"], "SlimmableContainer", [])
    assert ours["sample_rate"] == theirs["sample_rate"] == RATE
    for mine, nams in zip(ours["config"]["submodels"], theirs["config"]["submodels"], strict=True):
        assert mine["max_value"] == nams["max_value"]
        a, b = mine["model"], nams["model"]
        assert a.keys() == b.keys() and (a["version"], a["architecture"]) == (b["version"], b["architecture"])
        assert a["config"] == {**b["config"], "layers": a["config"]["layers"]}
        assert a["config"]["layers"] == b["config"]["layers"]  # every key and value, down to the inactive FiLMs
        assert len(a["weights"]) == len(b["weights"]) and a["weights"][-1] == pytest.approx(0.01)
    meta = ours["metadata"]
    assert meta["name"] == "my-a2" and meta["preset"] == "nam-a2" and meta["training"]["validation_esr"] == 0.0123
    assert meta["loudness"] == ours["config"]["submodels"][1]["model"]["metadata"]["loudness"]


@pytest.mark.filterwarnings("ignore:You are trying to `self.log()`")  # a bare step, no Trainer to log to
def test_joint_training_loss_is_both_submodels(module):
    """One step's loss is the sum of the two submodels' losses, and both receive gradients."""
    x = torch.from_numpy(guitar_like(0.2, RATE, seed=5)[:module.receptive_field + 2000])[None, None]
    y = 0.5 * torch.tanh(3 * x[..., module.receptive_field - 1:])
    module.zero_grad()
    loss = module.training_step((x, y), 0)
    parts = [esr_loss(out, y, module.hparams.pre_emphasis, module.hparams.target_energy)
             for out in module.net.submodel_outputs(x)]
    assert loss.item() == pytest.approx(sum(p.item() for p in parts), rel=1e-6) and min(parts).item() > 0
    loss.backward()
    for net in module.net.nets:
        assert net.arrays[0].convs[0].weight.grad.abs().sum() > 0 and net.arrays[0].head.weight.grad.abs().sum() > 0
    module.zero_grad()


@pytest.mark.parametrize("change, match", [
    ({"gated": True}, "not gating"), ({"head1x1": {"active": True}}, "not 'head1x1'"),
    ({"activation": "Softsign"}, "A2 activations LeakyReLU, Tanh")])
def test_unimplemented_a2_features_are_refused(change, match):
    layers = [{**nam_a2_config(3)["layers"][0], **change}]
    with pytest.raises(AmpemuError, match=match):
        NamA2WaveNet(layers)


def test_onnx_export_of_a_container_is_refused(module, tmp_path):
    with pytest.raises(AmpemuError, match="only a .nam holds: export with --format nam"):
        export(module, tmp_path / "a2.onnx", "onnx")
    assert not (tmp_path / "a2.onnx").exists()


def test_train_cli_writes_a_container_info_reads(tmp_path, capsys):
    from training.synthetic import overdrive

    x = guitar_like(3.0, RATE, seed=6)
    sf.write(tmp_path / "in.wav", x, RATE, subtype="FLOAT")
    sf.write(tmp_path / "out.wav", overdrive(x.astype(np.float64), RATE), RATE, subtype="FLOAT")
    run = tmp_path / "run"
    assert main(["train", "--input", str(tmp_path / "in.wav"), "--output", str(tmp_path / "out.wav"),
                 "--run-dir", str(run), "--preset", "nam-a2", "--max-steps", "4", "--val-every", "2",
                 "--window", "2048", "--threads", "1"]) == 0
    capsys.readouterr()
    assert main(["info", str(run / "model.nam")]) == 0
    text = capsys.readouterr().out
    assert "NAM SlimmableContainer of 2 submodels" in text and "receptive field 6347" in text
    assert "3 channels, 23 layers, kernel 6/15, LeakyReLU, head kernel 16" in text
    assert "8 channels, 23 layers, kernel 6/15, LeakyReLU, head kernel 16" in text
