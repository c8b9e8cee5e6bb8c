"""`ampemu predict --checkpoint CKPT IN.wav OUT.wav`: render a WAV through a checkpoint (torch)."""

from __future__ import annotations

from training.cli_support import add_checkpoint_argument, load_checkpoint, require_training_stack


def add_arguments(p) -> None:
    add_checkpoint_argument(p)
    p.add_argument("input", help="input WAV")
    p.add_argument("output", help="output WAV (32-bit float, the input's rate)")
    p.add_argument("--channel", type=int, default=None, help="input channel to use (0-based)")


def run(args) -> int:
    require_training_stack()
    import torch

    from engine.audio_io import read_wav, warn, write_wav
    from training.model import render_long

    module = load_checkpoint(args.checkpoint)
    audio, rate = read_wav(args.input, args.channel)
    if rate != module.hparams.sample_rate:
        warn(f"{args.input} is {rate} Hz but the model was trained at {module.hparams.sample_rate} Hz: "
             f"it will not sound like the device; resample the input")
    out = render_long(module.net, torch.from_numpy(audio)).numpy()
    write_wav(args.output, out, rate, protect=(args.input,))
    print(f"wrote {args.output}: {audio.size / rate:.1f} s at {rate} Hz")
    return 0
