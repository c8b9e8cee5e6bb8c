"""`ampemu demo`: the whole story with no files from the user.

A built-in capture (training/synthetic.py) -> train the default preset for a few minutes on the CPU ->
test it (metrics + plots) -> export the model -> render the test take through the engine's real-time
kernel -> print ESR and real-time factor. Everything lands in one folder.
"""

from __future__ import annotations

from pathlib import Path

from training import recipe
from training.cli_support import require_training_stack

MARKER = ".ampemu-demo"  # marks a folder as ours, so a rerun may replace its files and nothing else's


def add_arguments(p) -> None:
    p.add_argument("--out-dir", default="ampemu-demo", help="folder for everything the demo makes (default ./ampemu-demo)")
    p.add_argument("--minutes", type=float, default=3.0, help="training time budget (default 3)")
    p.add_argument("--seconds", type=float, default=60.0, help="length of the built-in capture (default 60)")
    p.add_argument("--preset", default=recipe.PRESET, help=f"model preset to train (default {recipe.PRESET})")
    p.add_argument("--threads", type=int, default=1, help="CPU threads for torch (default 1)")
    p.add_argument("--max-steps", type=int, default=-1,
                   help="also stop after this many steps (benchmarks/demo_seeds.py: seeds compared at equal steps)")
    p.add_argument("--seed", type=int, default=0, help="training's random seed (default 0; the capture is always the same)")


def _prepare(out_dir: Path) -> None:
    from engine.errors import AmpemuError

    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / MARKER).exists():
        raise AmpemuError(f"{out_dir}: exists and is not a demo folder; choose another with --out-dir")
    if (out_dir / "run").exists():
        import shutil

        shutil.rmtree(out_dir / "run")  # a previous demo's run: resuming it would mix two trainings
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MARKER).write_text("made by `ampemu demo`; rerunning the demo replaces this folder's files\n")


def run(args) -> int:
    require_training_stack()
    import time

    from engine.audio_io import write_wav
    from engine.models import load_model
    from engine.render import render
    from training.capture import load_capture, split
    from training.cli_test import test_checkpoint
    from training.evaluate import esr
    from training.export import NATIVE_FORMAT, export
    from training.fit import TrainConfig, train
    from training.module import CaptureModule
    from training.synthetic import demo_capture

    out = Path(args.out_dir)
    _prepare(out)
    rate = 44100
    print(f"[1/5] built-in capture: {args.seconds:.0f} s synthetic guitar DI through a reference overdrive")
    x, y = demo_capture(args.seconds, rate)
    write_wav(out / "input.wav", x, rate)
    write_wav(out / "output.wav", y, rate)

    print(f"[2/5] training preset '{args.preset}' for {args.minutes:g} min on the CPU")
    summary = train(TrainConfig(input=str(out / "input.wav"), output=str(out / "output.wav"), run_dir=str(out / "run"),
                                preset=args.preset, max_minutes=args.minutes, max_steps=args.max_steps,
                                threads=args.threads, seed=args.seed))
    checkpoint = summary["best_checkpoint"]

    print("[3/5] testing on the last 10 % of the capture (never seen in training)")
    tested = test_checkpoint(checkpoint, out / "input.wav", out / "output.wav", out / "test")

    trained = CaptureModule.load_from_checkpoint(checkpoint, map_location="cpu")
    fmt = NATIVE_FORMAT[trained.hparams.architecture]
    print(f"[4/5] exporting model.{fmt}")
    model_path = export(trained, out / f"model.{fmt}", fmt, name="ampemu-demo")

    print("[5/5] rendering the test take through the real-time engine (exact mode, 64-sample blocks)")
    capture = load_capture(out / "input.wav", out / "output.wav", delay=0)
    model = load_model(model_path)
    history = model.receptive_field - 1
    test = split(capture, history)["test"]  # with the input before it, as `test` scored it
    started = time.perf_counter()
    rendered = render(model, test.input, block=64)[history:]
    rtf = (time.perf_counter() - started) * rate / test.input.size
    write_wav(out / "test_input.wav", test.input[history:], rate)
    write_wav(out / "test_target.wav", test.target, rate)
    write_wav(out / "test_engine.wav", rendered, rate)
    engine_esr = esr(rendered, test.target)
    print(f"\ndemo done in {out}/:")
    print(f"  training: {summary['steps']} steps in {summary['seconds']:.0f} s, "
          f"best validation ESR {100 * summary['best_val_esr']:.2f} %")
    print(f"  test split (torch): ESR {100 * tested['esr']:.2f} %, SNR {tested['snr_db']:.1f} dB; plots in {out / 'test'}")
    print(f"  engine render of the test take: ESR {100 * engine_esr:.2f} %, real-time factor {rtf:.3f} "
          f"({1 / max(rtf, 1e-9):.0f}x faster than real time)")
    print(f"  listen: {out / 'test_input.wav'} (dry), {out / 'test_target.wav'} (device), {out / 'test_engine.wav'} (model)")
    print(f"  play it: ampemu process --model {model_path} IN.wav OUT.wav")
    return 0
