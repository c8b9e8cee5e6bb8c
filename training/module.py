"""The LightningModule: a network from training/model.py, the ESR loss, the optimiser and its schedule.

`save_hyperparameters` stores the preset, the resolved architecture config, the input gain, the
sample rate and the loss settings, so `CaptureModule.load_from_checkpoint(ckpt)` alone rebuilds the
model. Validation reports the plain ESR of the whole validation split (sums over windows and DDP
ranks, not a mean of per-window ratios, which silent windows would blow up) of the network's
forward: for a container (nam-a2), its default (largest) submodel, while training sums every one's loss.
"""

from __future__ import annotations

import lightning as L
import torch

from training import recipe
from training.model import build_network, resolve_architecture


def pre_emphasis(y: torch.Tensor, coefficient: float) -> torch.Tensor:
    """First-order high-pass y[t] - c*y[t-1]: weights the loss towards the audible highs."""
    return y[..., 1:] - coefficient * y[..., :-1] if coefficient else y


def esr_terms(pred: torch.Tensor, target: torch.Tensor, coefficient: float = 0.0) -> torch.Tensor:
    """[error energy, target energy] of the (pre-emphasised) signals; ESR = ratio of the two."""
    p, t = pre_emphasis(pred, coefficient), pre_emphasis(target, coefficient)
    return torch.stack([torch.sum((t - p) ** 2), torch.sum(t ** 2)])


def esr_loss(pred, target, coefficient: float, energies: tuple[float, float], dc_weight: float = 0.0) -> torch.Tensor:
    """Plain plus pre-emphasised error power, each over `energies`: the mean plain and pre-emphasised
    power of the whole train target.

    Dividing by the batch's own energy (the textbook ESR) lets a batch that falls in a rest between
    notes blow the loss up by orders of magnitude; the split-wide energy keeps every step on one scale,
    and over the whole split the two are the same number."""
    plain_energy, emphasised_energy = energies
    loss = torch.mean((target - pred) ** 2) / plain_energy
    if coefficient:
        p, t = pre_emphasis(pred, coefficient), pre_emphasis(target, coefficient)
        loss = loss + torch.mean((t - p) ** 2) / emphasised_energy
    if dc_weight:
        loss = loss + dc_weight * (pred.mean() - target.mean()) ** 2 / plain_energy
    return loss


class CosineSchedule(L.Callback):
    """Cosine learning-rate decay from lr to lr * final_ratio over the run's budget.

    The budget may be steps, epochs or wall-clock time (`--max-time`, the usual one on a CPU): the
    progress is whichever fraction is furthest along, so a timed run still ends on a small step."""

    def __init__(self, max_seconds: float | None = None):
        self.max_seconds, self.started = max_seconds, None

    def on_train_start(self, trainer, module):
        import time

        self.started = time.monotonic()

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        import math
        import time

        fractions = [0.0]
        total = trainer.estimated_stepping_batches
        if isinstance(total, (int, float)) and 0 < total < float("inf"):
            fractions.append(trainer.global_step / total)
        if self.max_seconds:
            fractions.append((time.monotonic() - self.started) / self.max_seconds)
        progress = min(1.0, max(fractions))
        low = module.hparams.lr_final_ratio
        scale = low + (1 - low) * 0.5 * (1 + math.cos(math.pi * progress))
        for optimiser in trainer.optimizers:
            for group in optimiser.param_groups:
                group["lr"] = module.hparams.lr * scale * module.lr_backoff


class CaptureModule(L.LightningModule):
    def __init__(self, preset: str = recipe.PRESET, architecture: str | None = None, config: dict | None = None,
                 sample_rate: int = 44100, lr: float = recipe.LR, lr_final_ratio: float = recipe.LR_FINAL_RATIO,
                 pre_emphasis: float = recipe.PRE_EMPHASIS, dc_weight: float = 0.0,
                 target_energy: tuple[float, float] = (1.0, 1.0), rollback_factor: float = recipe.ROLLBACK_FACTOR,
                 capture_name: str = ""):
        super().__init__()
        if architecture is None or config is None:
            architecture, config = resolve_architecture(preset, config)
        self.save_hyperparameters({"preset": preset, "architecture": architecture, "config": config,
                                   "sample_rate": sample_rate, "lr": lr, "lr_final_ratio": lr_final_ratio,
                                   "pre_emphasis": pre_emphasis, "dc_weight": dc_weight,
                                   "target_energy": tuple(target_energy), "rollback_factor": rollback_factor,
                                   "capture_name": capture_name})
        self.net = build_network(architecture, config)
        self._val_terms: list[torch.Tensor] = []
        self.best_val_esr = float("nan")
        self.best_state: dict | None = None  # the best weights, kept to roll a blow-up back to
        self.lr_backoff = 1.0  # halved at every rollback; the schedule multiplies it in
        self.rollbacks = 0

    @property
    def receptive_field(self) -> int:
        return self.net.receptive_field

    def forward(self, x, pad: bool = False):
        return self.net(x, pad=pad)

    def training_step(self, batch, _):
        x, y = batch
        # a container (nam-a2) trains its submodels jointly: the sum of their losses, as NAM's packed training
        outputs = self.net.submodel_outputs(x) if hasattr(self.net, "submodel_outputs") else [self.net(x)]
        loss = sum(esr_loss(out, y, self.hparams.pre_emphasis, self.hparams.target_energy, self.hparams.dc_weight)
                   for out in outputs)
        self.log("esr", loss, prog_bar=True, on_step=True, on_epoch=True, batch_size=x.shape[0])
        return loss

    def validation_step(self, batch, _):
        x, y = batch
        self._val_terms.append(esr_terms(self.net(x), y))

    def on_validation_epoch_end(self):
        terms = torch.stack(self._val_terms).sum(0) if self._val_terms else torch.zeros(2, device=self.device)
        self._val_terms.clear()
        terms = self.all_gather(terms)
        if terms.dim() == 2:
            terms = terms.sum(0)
        val_esr = (terms[0] / terms[1].clamp_min(1e-12)).item()
        self.log("val_esr", val_esr, prog_bar=True, rank_zero_only=True)
        if self.trainer.sanity_checking:
            return
        if not val_esr >= self.best_val_esr:  # the NaN start counts as worse
            self.best_val_esr = val_esr
            self.best_state = {k: v.detach().clone() for k, v in self.net.state_dict().items()}
        elif self.best_state is not None and not val_esr <= self.hparams.rollback_factor * self.best_val_esr:
            self._roll_back()

    def _roll_back(self) -> None:
        """A blow-up (NaN included): back to the best weights, at half the learning rate, with the
        optimiser's moments cleared (they are what carried the weights off)."""
        self.net.load_state_dict(self.best_state)
        self.lr_backoff *= 0.5
        self.rollbacks += 1
        for optimiser in self.trainer.optimizers:
            optimiser.state.clear()
        self.log("rollbacks", float(self.rollbacks), rank_zero_only=True)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)

    def on_save_checkpoint(self, checkpoint):
        checkpoint["ampemu"] = {"best_val_esr": self.best_val_esr, "lr_backoff": self.lr_backoff,
                                "rollbacks": self.rollbacks}

    def on_load_checkpoint(self, checkpoint):
        saved = checkpoint.get("ampemu", {})
        self.best_val_esr = saved.get("best_val_esr", float("nan"))
        self.lr_backoff, self.rollbacks = saved.get("lr_backoff", 1.0), saved.get("rollbacks", 0)
