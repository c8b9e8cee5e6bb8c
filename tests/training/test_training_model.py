"""The torch model against the engine: same maths, exported file equal to the checkpoint's forward."""

import numpy as np
import pytest
import torch

from support.audio import guitar_like
from engine.formats.wavenetva_json import read_model
from engine.models import load_model
from engine.render import render
from training.capture import Capture
from training.data import CaptureData
from training.export import export
from training.model import PRESETS, render_long
from training.module import CaptureModule, esr_loss

RATE = 44100


def module_for(preset: str, **config) -> CaptureModule:
    torch.manual_seed(0)
    m = CaptureModule(preset=preset, config=config or None, sample_rate=RATE).eval()
    with torch.no_grad():
        m.net.input_gain.fill_(10.0)  # what fit() sets for a guitar DI (1 / RMS): drives the tanh like training
    return m


@pytest.fixture(scope="module")
def audio():
    return guitar_like(1.5, RATE, seed=3)


@pytest.mark.parametrize("preset", [name for name, (arch, _) in PRESETS.items() if arch == "gated_wavenet"])
def test_exported_json_matches_torch_forward(preset, audio, tmp_path):
    """The equivalence that makes it one product: engine kernel (exact mode) == torch, <= 2e-5."""
    module = module_for(preset)
    path = export(module, tmp_path / f"{preset}.json", "json")
    with torch.no_grad():
        expected = module(torch.from_numpy(audio)[None, None], pad=True)[0, 0].numpy()
    got = render(load_model(path), audio, block=64)
    assert np.max(np.abs(expected)) > 0.05  # a live model, not a silent one
    assert np.max(np.abs(got - expected)) <= 2e-5


def test_export_writes_rate_and_metadata(tmp_path):
    module = module_for("seed")
    module.best_val_esr = 0.0123
    weights = read_model(export(module, tmp_path / "m.json", "json", name="my-pedal"))
    assert weights.sample_rate == RATE
    assert weights.metadata["name"] == "my-pedal"
    assert weights.metadata["validation_esr"] == 0.0123
    assert weights.metadata["preset"] == "seed" and len(weights.metadata["date"]) == 10
    # the input gain is folded into the exported input conv
    np.testing.assert_allclose(weights.input_weight, 10.0 * module.net.input_conv.weight[:, 0, 0].detach().numpy(),
                               rtol=1e-6)


def test_valid_forward_equals_padded_forward_once_context_is_full(audio):
    module = module_for("seed", channels=3, dilations=[1, 2, 4, 8])
    x = torch.from_numpy(audio[:3000])[None, None]
    rf = module.receptive_field
    with torch.no_grad():
        padded = module(x, pad=True)[0, 0]
        valid = module(x)[0, 0]
    assert valid.numel() == 3000 - rf + 1
    # padding reaches the outputs within one receptive field of the start (zeros vs real history)
    torch.testing.assert_close(valid[rf:], padded[2 * rf - 1:], rtol=0, atol=1e-6)


def test_render_long_equals_one_padded_forward(audio):
    module = module_for("seed", channels=3, dilations=[1, 2, 4, 8, 16])
    x = torch.from_numpy(audio[:20000])
    with torch.no_grad():
        whole = module(x[None, None], pad=True)[0, 0]
    torch.testing.assert_close(render_long(module.net, x, chunk=3000), whole, rtol=0, atol=1e-6)


def test_checkpoint_alone_rebuilds_the_model(tmp_path, audio):
    import lightning as L

    module = module_for("seed", channels=5, kernel_size=2, dilations=[1, 3, 9])
    trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_checkpointing=False)
    trainer.strategy.connect(module)
    trainer.save_checkpoint(tmp_path / "m.ckpt")
    again = CaptureModule.load_from_checkpoint(tmp_path / "m.ckpt").eval()
    assert again.net.channels == 5 and again.net.kernel_size == 2 and again.net.dilations == [1, 3, 9]
    assert float(again.net.input_gain) == 10.0  # the input scaling travels with the checkpoint
    x = torch.from_numpy(audio[:4000])[None, None]
    with torch.no_grad():
        torch.testing.assert_close(again(x, pad=True), module(x, pad=True), rtol=0, atol=0)


def test_training_windows_count_only_full_context_samples(audio):
    """Each training item: input = target + history samples; the net's valid output has the target's length."""
    y = np.roll(audio, 1) * 0.5  # any target
    cap = Capture(audio, y.astype(np.float32), RATE, 0)
    module = module_for("seed", channels=2, dilations=[1, 2, 4])
    history = module.receptive_field - 1
    data = CaptureData(cap, history, window=1000, batch_size=4)
    x_batch, y_batch = next(iter(data.train_dataloader()))
    assert x_batch.shape == (4, 1, 1000 + history) and y_batch.shape == (4, 1, 1000)
    with torch.no_grad():
        assert module(x_batch).shape == y_batch.shape
    # the first train target sample is the output at the first time with full history
    ds = data.train_dataloader().dataset
    first_x, first_y = ds[0]
    np.testing.assert_array_equal(first_y[0].numpy(), y[history:history + 1000])
    np.testing.assert_array_equal(first_x[0].numpy(), audio[:1000 + history])


def test_esr_loss_values():
    t = torch.tensor([[[0.0, 1.0, -1.0, 0.5]]])
    assert esr_loss(t, t, 0.85, energies=(1.0, 1.0)).item() == 0.0
    # no pre-emphasis, energy = mean target power: plain ESR
    energy = float(t.pow(2).mean())
    assert esr_loss(torch.zeros_like(t), t, 0.0, energies=(energy, 1.0)).item() == pytest.approx(1.0)
    assert esr_loss(0.5 * t, t, 0.0, energies=(energy, 1.0)).item() == pytest.approx(0.25)
    # with pre-emphasis: the plain ESR plus the pre-emphasised one, each over its own energy
    emphasised = t[..., 1:] - 0.85 * t[..., :-1]
    both = (energy, float(emphasised.pow(2).mean()))
    assert esr_loss(0.5 * t, t, 0.85, energies=both).item() == pytest.approx(0.5)
