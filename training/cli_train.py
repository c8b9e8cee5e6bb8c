"""`ampemu train --input IN.wav --output OUT.wav --run-dir DIR`: train a model on a capture pair."""

from __future__ import annotations

from training import recipe
from training.cli_support import (add_capture_arguments, check_checkpoint_file, check_run_dir, dilation_list,
                                  load_checkpoint, non_negative_float, positive_float, positive_int,
                                  require_training_stack, unit_interval)


def add_arguments(p) -> None:
    add_capture_arguments(p)
    p.add_argument("--run-dir", required=True, help="folder for checkpoints, config, metrics and the model (model.json, or model.nam for nam-* presets)")
    p.add_argument("--preset", default=recipe.PRESET,
                   help=f"model: {', '.join(recipe.PRESET_NAMES)} (default {recipe.PRESET}; nam-* write model.nam, "
                        "the gated ones model.json; nam-a2 is NAM 0.13's A2-Lite + A2-Full container)")
    p.add_argument("--channels", type=positive_int, default=None, help="override a gated preset's channel count")
    p.add_argument("--kernel-size", type=positive_int, default=None, help="override a gated preset's kernel size")
    p.add_argument("--dilations", type=dilation_list, default=None,
                   help="override a gated preset's dilations, comma-separated (e.g. 1,2,4,8)")
    p.add_argument("--max-epochs", type=positive_int, default=None, help="stop after N passes over the train split")
    p.add_argument("--max-steps", type=positive_int, default=-1, metavar="N", help="stop after N optimiser steps")
    p.add_argument("--max-time", type=positive_float, default=None, metavar="MINUTES", help="stop after MINUTES of training")
    p.add_argument("--resume", default=None, metavar="CKPT", help="continue from a checkpoint (e.g. DIR/checkpoints/last.ckpt)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--window", type=positive_int, default=recipe.WINDOW,
                   help=f"training window in samples (default {recipe.WINDOW})")
    p.add_argument("--batch-size", type=positive_int, default=recipe.BATCH, help=f"windows per step (default {recipe.BATCH})")
    p.add_argument("--lr", type=positive_float, default=recipe.LR,
                   help=f"Adam learning rate (default {recipe.LR:g}, cosine decay to {100 * recipe.LR_FINAL_RATIO:g} %%)")
    p.add_argument("--pre-emphasis", type=unit_interval, default=recipe.PRE_EMPHASIS,
                   help=f"coefficient of the loss's pre-emphasised term (default {recipe.PRE_EMPHASIS:g}; 0 = plain ESR only)")
    p.add_argument("--dc-weight", type=non_negative_float, default=0.0, help="weight of a DC-offset term in the loss")
    p.add_argument("--threads", type=positive_int, default=1,
                   help="CPU threads for torch (default 1; more only helps large presets on idle cores)")
    p.add_argument("--val-every", type=positive_int, default=recipe.VALIDATE_EVERY, metavar="STEPS",
                   help=f"validate every STEPS steps, or every epoch when that is shorter (default {recipe.VALIDATE_EVERY})")
    p.add_argument("--accelerator", default="auto", help="Lightning accelerator: auto, cpu, gpu (default auto)")
    p.add_argument("--devices", default="auto", help="Lightning devices, e.g. 2 (default auto)")
    p.add_argument("--strategy", default="auto", help="Lightning strategy, e.g. ddp (default auto)")


def run(args) -> int:
    check_run_dir(args.run_dir)
    if args.resume:
        check_checkpoint_file(args.resume)
    require_training_stack()
    if args.resume:
        load_checkpoint(args.resume)  # a damaged one is one line here, not an unpickling traceback mid-setup
    from training.fit import TrainConfig, train

    devices = int(args.devices) if str(args.devices).isdigit() else args.devices
    summary = train(TrainConfig(
        input=args.input, output=args.output, run_dir=args.run_dir, preset=args.preset, channels=args.channels,
        kernel_size=args.kernel_size, dilations=args.dilations, max_epochs=args.max_epochs,
        max_minutes=args.max_time, max_steps=args.max_steps, resume=args.resume, seed=args.seed,
        window=args.window, batch_size=args.batch_size, lr=args.lr,
        pre_emphasis=args.pre_emphasis, dc_weight=args.dc_weight, channel=args.channel, delay=args.delay,
        accelerator=args.accelerator, devices=devices, strategy=args.strategy, threads=args.threads,
        val_every_steps=args.val_every))
    if not summary:  # a non-zero DDP rank: rank 0 reports
        return 0
    esr = summary.get("best_val_esr")
    print(f"{'interrupted' if summary['interrupted'] else 'done'}: {summary['steps']} steps in "
          f"{summary['seconds']:.0f} s; best validation ESR "
          f"{'n/a' if esr is None or esr != esr else f'{100 * esr:.3f} %'}; "
          f"model {summary.get('model', 'not exported (no checkpoint yet)')}")
    return 130 if summary["interrupted"] else 0
