"""The default recipe: one source for its values, and a run that always ends at its best weights."""

import numpy as np
import pytest
import soundfile as sf

from support.audio import guitar_like
from training import recipe
from training.model import PRESETS

RATE = 44100


def test_recipe_names_every_preset():
    """The torch-free list the CLI shows is the list training builds."""
    assert recipe.PRESET_NAMES == tuple(PRESETS) and recipe.PRESET in PRESETS


def test_a_blow_up_rolls_back_to_the_best_weights_at_half_the_rate(tmp_path):
    """A learning rate far too high makes validation explode; each explosion brings the best weights
    back, halves the rate and clears Adam's moments, and the exported model is the best one."""
    import torch

    from engine.models import load_model
    from training.fit import TrainConfig, train
    from training.synthetic import overdrive

    x = guitar_like(3.0, RATE, seed=4)
    sf.write(tmp_path / "in.wav", x, RATE, subtype="FLOAT")
    sf.write(tmp_path / "out.wav", overdrive(x.astype(np.float64), RATE), RATE, subtype="FLOAT")
    seen = []

    class Watch(__import__("lightning").Callback):
        def on_validation_end(self, trainer, module):
            if module.best_state is not None:
                weights = {k: v.clone() for k, v in module.net.state_dict().items()}
                seen.append((module.rollbacks, module.lr_backoff, weights, dict(module.best_state)))

    summary = train(TrainConfig(input=str(tmp_path / "in.wav"), output=str(tmp_path / "out.wav"),
                                run_dir=str(tmp_path / "run"), preset="seed", channels=2, dilations=[1, 2, 4],
                                window=2048, batch_size=2, lr=30.0, max_steps=24, val_every_steps=2,
                                progress=False, extra_callbacks=[Watch()]))
    assert summary["rollbacks"] >= 1
    for rollbacks, backoff, weights, best in seen:
        assert backoff == 0.5 ** rollbacks
    # right after a rollback the network holds exactly the best weights
    after = [i for i in range(1, len(seen)) if seen[i][0] > seen[i - 1][0]]
    assert after
    for i in after:
        _, _, weights, best = seen[i]
        assert all(torch.equal(weights[k], best[k]) for k in best)
    model = load_model(summary["model"])
    assert model.metadata["validation_esr"] == pytest.approx(summary["best_val_esr"], abs=1e-6)
