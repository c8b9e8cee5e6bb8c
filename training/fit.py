"""One training run: capture -> Lightning fit -> run directory with checkpoints, config, metrics, model.json.

Run directory layout:
  config.json            everything the run was started with, resolved (preset, sizes, capture checks)
  metrics.csv            per-step training ESR, per-validation val_esr (Lightning's CSVLogger)
  checkpoints/best.ckpt  lowest validation ESR so far; last.ckpt; interrupted.ckpt after Ctrl-C
  model.json | model.nam exported from the best checkpoint when the run ends (or is interrupted):
                         .json for gated WaveNets, .nam for NAM presets
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.loggers import CSVLogger

from engine.errors import AmpemuError
from training import recipe
from training.capture import load_capture
from training.data import CaptureData
from training.evaluate import pre_emphasised
from training.export import NATIVE_FORMAT, export
from training.module import CaptureModule, CosineSchedule


@dataclass
class TrainConfig:
    input: str
    output: str
    run_dir: str
    preset: str = recipe.PRESET
    channels: int | None = None
    kernel_size: int | None = None
    dilations: list[int] | None = None
    max_epochs: int | None = None
    max_minutes: float | None = None
    max_steps: int = -1
    resume: str | None = None
    seed: int = 0
    window: int = recipe.WINDOW
    batch_size: int = recipe.BATCH
    lr: float = recipe.LR
    pre_emphasis: float = recipe.PRE_EMPHASIS
    dc_weight: float = 0.0
    channel: int | None = None
    delay: int | None = None
    split: tuple = recipe.SPLIT
    accelerator: str = "auto"
    devices: str = "auto"
    strategy: str = "auto"
    threads: int = 1
    val_every_steps: int = recipe.VALIDATE_EVERY
    progress: bool = True
    extra_callbacks: list = field(default_factory=list)


class SaveOnInterrupt(Callback):
    """Ctrl-C: write a checkpoint of the current weights before Lightning shuts down."""

    def __init__(self, path: Path):
        self.path, self.interrupted = path, False

    def on_exception(self, trainer, module, exception):
        if isinstance(exception, KeyboardInterrupt):
            self.interrupted = True
            trainer.save_checkpoint(self.path)


def _input_gain(x: np.ndarray) -> float:
    """Scale the dry signal to unit RMS (the seed's standardisation, but saved in the model)."""
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    return 1.0 / max(rms, 1e-4)


def _loss_energies(y: np.ndarray, coefficient: float) -> tuple[float, float]:
    """Mean power of the train target, plain and pre-emphasised: the loss's two denominators."""
    y = y.astype(np.float64)
    return tuple(max(float(np.mean(v * v)), 1e-12) for v in (y, pre_emphasised(y, coefficient)))


def train(cfg: TrainConfig) -> dict:
    """Run one training; returns a summary (paths, best validation ESR, steps, seconds)."""
    run_dir = Path(cfg.run_dir)
    if cfg.max_epochs is None and cfg.max_minutes is None and cfg.max_steps < 0:
        raise AmpemuError("give a budget: --max-epochs N, --max-time MINUTES and/or --max-steps N")
    # One thread by default: these small convolutions gain little from more, and when another
    # process holds a core, multi-threaded torch stalls in its thread barriers (measured: 2 threads
    # on a busy 2-core machine ran 30x slower than 1; docs/training.md).
    torch.set_num_threads(max(1, cfg.threads))
    L.seed_everything(cfg.seed, verbose=False)
    capture = load_capture(cfg.input, cfg.output, channel=cfg.channel, delay=cfg.delay)
    overrides = {"channels": cfg.channels, "kernel_size": cfg.kernel_size, "dilations": cfg.dilations}
    train_stop = int(cfg.split[0] * capture.input.size)
    train_input, train_output = capture.input[:train_stop], capture.output[:train_stop]
    if cfg.resume:
        if not Path(cfg.resume).exists():
            raise AmpemuError(f"{cfg.resume}: no such checkpoint to resume from")
        module = CaptureModule.load_from_checkpoint(cfg.resume, map_location="cpu")
    else:
        module = CaptureModule(preset=cfg.preset, config={k: v for k, v in overrides.items() if v},
                               sample_rate=capture.sample_rate, lr=cfg.lr, pre_emphasis=cfg.pre_emphasis,
                               dc_weight=cfg.dc_weight, capture_name=Path(cfg.output).parent.name,
                               target_energy=_loss_energies(train_output, cfg.pre_emphasis))
        with torch.no_grad():
            module.net.input_gain.fill_(_input_gain(train_input))
    data = CaptureData(capture, module.receptive_field - 1, cfg.window, cfg.batch_size, cfg.split)

    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_dir = run_dir / "checkpoints"
    resolved = {k: v for k, v in asdict(cfg).items() if k != "extra_callbacks"}
    resolved.update(architecture=module.hparams.architecture, architecture_config=module.hparams.config,
                    receptive_field=module.receptive_field, sample_rate=capture.sample_rate,
                    delay_samples=capture.delay, capture_seconds=round(capture.seconds, 3),
                    input_gain=float(module.net.input_gain), window=data.window)
    best = ModelCheckpoint(dirpath=ckpt_dir, filename="best", monitor="val_esr", mode="min", save_last=True,
                           enable_version_counter=False)
    on_interrupt = SaveOnInterrupt(ckpt_dir / "interrupted.ckpt")
    callbacks = [best, on_interrupt, CosineSchedule(cfg.max_minutes * 60 if cfg.max_minutes else None),
                 *cfg.extra_callbacks]
    if cfg.progress:
        callbacks.append(TQDMProgressBar(refresh_rate=5))
    trainer = L.Trainer(
        default_root_dir=run_dir, max_epochs=cfg.max_epochs if cfg.max_epochs is not None else -1,
        max_steps=cfg.max_steps, max_time={"seconds": cfg.max_minutes * 60} if cfg.max_minutes else None,
        accelerator=cfg.accelerator, devices=cfg.devices, strategy=cfg.strategy,
        logger=CSVLogger(run_dir, name="", version=""), callbacks=callbacks,
        enable_progress_bar=cfg.progress, enable_model_summary=False, log_every_n_steps=10,
        val_check_interval=min(cfg.val_every_steps, data.steps_per_epoch), check_val_every_n_epoch=None,
        num_sanity_val_steps=0, deterministic=False)
    if trainer.is_global_zero:
        (run_dir / "config.json").write_text(json.dumps(resolved, indent=2, default=str) + "\n")
    started = time.perf_counter()
    try:
        trainer.fit(module, datamodule=data, ckpt_path=cfg.resume)
    except SystemExit:
        if not on_interrupt.interrupted:  # Lightning turns Ctrl-C into sys.exit(1); anything else is real
            raise
    seconds = time.perf_counter() - started
    if not trainer.is_global_zero:
        return {}
    source = best.best_model_path or (str(on_interrupt.path) if on_interrupt.interrupted else best.last_model_path)
    summary = {"run_dir": str(run_dir), "interrupted": on_interrupt.interrupted, "steps": trainer.global_step,
               "seconds": round(seconds, 1), "rollbacks": module.rollbacks, "best_checkpoint": source}
    if source and os.path.exists(source):
        exported = CaptureModule.load_from_checkpoint(source, map_location="cpu")
        fmt = NATIVE_FORMAT[exported.hparams.architecture]
        summary["model"] = str(export(exported, run_dir / f"model.{fmt}", fmt, name=run_dir.name))
        summary["best_val_esr"] = exported.best_val_esr
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
