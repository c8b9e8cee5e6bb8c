"""`ampemu process --model MODEL IN.wav OUT.wav`: offline render through the real-time kernel."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from engine import families
from engine.atomic import check_writable
from engine.audio_io import read_wav, warn, write_wav
from engine.chain import settings as chain_settings
from engine.chain.chain import attach
from engine.chain.resampler import play_at
from engine.errors import AmpemuError
from engine.models import load_model
from engine.render import render
from engine.slim import add_slim_argument
from engine.streaming import StreamingModel


def add_arguments(p) -> None:
    p.add_argument("--model", required=True, help="model file (.json or .nam; .onnx plays through onnxruntime)")
    p.add_argument("input", help="input WAV (mono; stereo uses the first channel)")
    p.add_argument("output", help="output WAV, 32-bit float at the input's rate (a model captured at another rate "
                                  "plays through the live resampler)")
    p.add_argument("--block", type=int, default=64, help="block size in samples (default 64; output is the same for any)")
    p.add_argument("--fast", action="store_true", help="fast activations (max error about 1e-4)")
    p.add_argument("--channel", type=int, default=None, help="input channel to use (0-based)")
    add_slim_argument(p, help="size 0..1 of a slimmable NAM: the first submodel with V < its max_value, else the "
                              "last (default: the last, the largest)")
    p.add_argument("--backend", choices=("numba", "onnxruntime"), default=None,
                   help=f"numba kernel ({', '.join(families.suffixes('numba'))}) or onnxruntime "
                        f"({', '.join(families.suffixes('onnxruntime'))}, see docs/onnx.md); default: by extension")
    p.add_argument("--ignore-rate", action="store_true",
                   help="play an input at another rate than the model's unresampled (it will not sound like the device)")
    chain_settings.add_arguments(p)


def run(args) -> int:
    if args.block < 1:
        raise AmpemuError(f"--block {args.block}: the block size must be at least 1 sample")
    check_writable(args.output, "output WAV")  # before the work, not after it
    audio, rate = read_wav(args.input, args.channel)
    model = _load(args)
    if rate != model.sample_rate:
        _match_rate(args, model, rate)
    started = time.perf_counter()
    out = render(model, audio, block=args.block, progress=audio.size > 10 * rate)
    elapsed = time.perf_counter() - started
    if not np.all(np.isfinite(out)):
        first = int(np.flatnonzero(~np.isfinite(out))[0])
        raise AmpemuError(f"{args.model}: its output goes NaN or infinite at sample {first} of {args.input} "
                          "(weights that overflow on this input); nothing written: retrain or use another model")
    write_wav(args.output, out, rate, protect=(args.input,))
    print(f"wrote {args.output}: {audio.size / rate:.1f} s at {rate} Hz in {elapsed:.2f} s "
          f"(real-time factor {elapsed * rate / audio.size:.4f}, block {args.block})")
    return 0


def _match_rate(args, model, rate: int) -> None:
    """Play `model` at the input's rate through the resampler `ampemu run` uses on a server at that rate
    (the same output, latency included), or unresampled with --ignore-rate or the onnxruntime backend."""
    if args.ignore_rate or not isinstance(model, StreamingModel):
        warn(f"{args.input} is {rate} Hz but {args.model} was captured at {model.sample_rate} Hz: playing it "
             f"unresampled{'' if args.ignore_rate else ' (the onnxruntime backend does not resample)'}, "
             f"it will not sound like the device")
        return
    try:
        play_at(model, rate)
    except ValueError as exc:
        raise AmpemuError(f"{args.input}: {exc}; resample the input to {model.sample_rate} Hz") from None
    print(model.resampler.describe(args.block, host="input"))


def _load(args):
    suffix = Path(args.model).suffix.lower()
    backend = args.backend or ("onnxruntime" if suffix in families.suffixes("onnxruntime") else "numba")
    if backend == "numba":
        return attach(load_model(args.model, fast=args.fast, slim=args.slim), chain_settings.from_args(args))
    if suffix not in families.suffixes("onnxruntime"):
        raise AmpemuError(f"{args.model}: the onnxruntime backend plays .onnx files (`ampemu export --format onnx`)")
    if args.fast:
        warn("--fast is a numba kernel option; the onnxruntime backend ignores it")
    if args.ir or args.gate or args.eq:
        warn("the signal chain (--ir, --gate, --eq, --highpass) plays with the numba backend only; "
             "the onnxruntime backend renders the bare model")
    family, model = families.read(args.model)  # onnxruntime is optional on the Pi: one line if missing
    return family.load(model, args.fast, Path(args.model).stem, args.slim)
