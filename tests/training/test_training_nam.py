"""NAM A1 training presets: the exported .nam played by the engine == the checkpoint's torch forward.

Prewarm semantics (what every comparison here states): NeuralAmpModelerCore, and our engine for
.nam files, run `receptive_field` zeros through the model after load and every reset. Biases make
a layer's input non-zero at rest, so that prewarmed state is not the zero-padded one. The played
model therefore equals the torch padded forward of `prewarm_samples` zeros followed by the signal,
with those first outputs dropped; `prewarmed_forward` below is exactly that.
"""

import json

import numpy as np
import pytest
import torch

from support.data import data_file
from support.audio import guitar_like
from engine.cli import main
from engine.formats.nam import read_nam
from engine.models import load_model
from engine.onnx_backend import load_onnx_model
from engine.presets.loudness import loudness_db
from engine.render import render
from training.export import export
from training.model import PRESETS
from training.module import CaptureModule

RATE = 48000
NAM_PRESETS = [name for name, (arch, _) in PRESETS.items() if arch == "nam_wavenet"]
SHARED_MODEL = {"nam-standard": "wavenet_a1_standard.nam", "nam-lite": "random_lite.nam",
                "nam-feather": "random_feather.nam", "nam-nano": "random_nano.nam"}


def nam_module(preset: str, seed: int = 0) -> CaptureModule:
    torch.manual_seed(seed)
    module = CaptureModule(preset=preset, sample_rate=RATE).eval()
    with torch.no_grad():
        module.net.input_gain.fill_(10.0)  # what fit() sets for a guitar DI: export must fold it in
        for p in module.net.parameters():  # livelier than the init, so a wiring error cannot hide in the noise
            p.mul_(2.0)
    return module


def prewarmed_forward(module: CaptureModule, x: np.ndarray) -> np.ndarray:
    warm = module.net.prewarm_samples
    signal = torch.cat([torch.zeros(warm), torch.from_numpy(x)])
    with torch.no_grad():
        return module(signal[None, None], pad=True)[0, 0, warm:].numpy()


@pytest.fixture(scope="module")
def audio():
    return guitar_like(0.5, RATE, seed=4)


@pytest.mark.parametrize("preset", NAM_PRESETS)
def test_exported_nam_matches_prewarmed_torch_forward(preset, audio, tmp_path):
    module = nam_module(preset)
    path = export(module, tmp_path / f"{preset}.nam", "nam")
    expected = prewarmed_forward(module, audio)
    got = render(load_model(path), audio, block=64)
    assert np.max(np.abs(expected)) > 0.05  # a live model, not a silent one
    assert np.max(np.abs(got - expected)) <= 5e-5
    # the prewarm is part of the contract: without it the first receptive field would differ
    with torch.no_grad():
        cold = module(torch.from_numpy(audio)[None, None], pad=True)[0, 0].numpy()
    assert np.max(np.abs(cold - expected)) > 1e-3


@pytest.mark.parametrize("preset", NAM_PRESETS)
def test_presets_are_nams_own(preset, tmp_path):
    """Our preset's exported config is the config NAM's trainer writes (the shared reference files)."""
    reference = data_file("models", "nam", SHARED_MODEL[preset])
    ours = json.loads(export(nam_module(preset), tmp_path / "m.nam", "nam").read_text())
    theirs = json.loads(reference.read_text())
    assert ours["config"]["layers"] == theirs["config"]["layers"]
    assert ours["config"]["head_scale"] == theirs["config"]["head_scale"] == 0.02
    assert len(ours["weights"]) == len(theirs["weights"])


def test_nam_file_header_and_metadata(tmp_path, audio):
    module = nam_module("nam-nano")
    module.best_val_esr = 0.0234
    path = export(module, tmp_path / "m.nam", "nam", name="my-fuzz")
    doc = json.loads(path.read_text())
    assert doc["version"] == "0.5.4" and doc["architecture"] == "WaveNet" and doc["sample_rate"] == RATE
    meta = doc["metadata"]
    assert meta["name"] == "my-fuzz" and len(meta["date"]) == 10 and meta["preset"] == "nam-nano"
    assert meta["validation_esr"] == meta["training"]["validation_esr"] == 0.0234
    model = load_model(path)
    assert meta["loudness"] == pytest.approx(loudness_db(model), abs=1e-3)
    assert doc["weights"][-1] == pytest.approx(0.02)  # Core reads head_scale from the last weight
    # the input gain is folded into the first rechannel and into every layer's mixin
    array = read_nam(path).arrays[0]
    torch_array = module.net.arrays[0]
    np.testing.assert_allclose(array.rechannel, 10 * torch_array.rechannel.weight[:, :, 0].detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(array.mixin_weights[3], 10 * torch_array.mixins[3].weight[:, :, 0].detach().numpy(),
                               rtol=1e-6)


def test_formats_refuse_the_other_family(tmp_path, capsys):
    from engine.errors import AmpemuError

    with pytest.raises(AmpemuError, match="--format nam holds NAM WaveNets only"):
        export(CaptureModule(preset="seed", sample_rate=RATE), tmp_path / "x.nam", "nam")
    with pytest.raises(AmpemuError, match="--format json holds gated WaveNets only"):
        export(nam_module("nam-nano"), tmp_path / "x.json", "json")
    with pytest.raises(AmpemuError, match="preset 'nam-nano' has no channels setting"):
        CaptureModule(preset="nam-nano", config={"channels": 4})


def test_export_command_writes_a_nam(tmp_path, audio):
    import lightning as L

    module = nam_module("nam-feather", seed=1)
    trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_checkpointing=False)
    trainer.strategy.connect(module)
    trainer.save_checkpoint(tmp_path / "m.ckpt")
    out = tmp_path / "feather.nam"
    assert main(["export", "--checkpoint", str(tmp_path / "m.ckpt"), "--format", "nam", "--out", str(out)]) == 0
    got = render(load_model(out), audio, block=128)
    assert np.max(np.abs(got - prewarmed_forward(module, audio))) <= 5e-5


def test_onnx_export_of_a_nam_preset_streams_like_torch(tmp_path, audio):
    """The streaming ONNX graph (prewarmed by the ONNX backend like Core) == torch == the .nam kernel."""
    module = nam_module("nam-nano", seed=2)
    onnx_model = load_onnx_model(export(module, tmp_path / "nano.onnx", "onnx"))
    kernel = load_model(export(module, tmp_path / "nano.nam", "nam"))
    assert onnx_model.prewarm_samples == module.net.receptive_field == 4093
    expected = prewarmed_forward(module, audio)
    for block, x in ((1, audio[:2000]), (64, audio), (333, audio)):  # one sample per call is slow: shorter
        got = render(onnx_model, x, block=block)
        assert np.max(np.abs(got - expected[:x.size])) <= 5e-5
    assert np.max(np.abs(render(kernel, audio, block=64) - expected)) <= 5e-5


def test_train_writes_model_nam_for_a_nam_preset(tmp_path):
    import soundfile as sf

    from training.fit import TrainConfig, train
    from training.synthetic import overdrive

    x = guitar_like(3.0, RATE, seed=6)
    sf.write(tmp_path / "in.wav", x, RATE, subtype="FLOAT")
    sf.write(tmp_path / "out.wav", overdrive(x.astype(np.float64), RATE), RATE, subtype="FLOAT")
    summary = train(TrainConfig(input=str(tmp_path / "in.wav"), output=str(tmp_path / "out.wav"),
                                run_dir=str(tmp_path / "run"), preset="nam-nano", max_steps=4, window=2048,
                                val_every_steps=2, progress=False))
    assert summary["model"] == str(tmp_path / "run" / "model.nam") and not (tmp_path / "run" / "model.json").exists()
    module = CaptureModule.load_from_checkpoint(summary["best_checkpoint"], map_location="cpu").eval()
    model = load_model(summary["model"])
    assert model.metadata["validation_esr"] == pytest.approx(summary["best_val_esr"], abs=1e-6)
    assert np.max(np.abs(render(model, x[:20000]) - prewarmed_forward(module, x[:20000]))) <= 5e-5
