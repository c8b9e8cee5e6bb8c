"""`ampemu test --checkpoint CKPT --input IN.wav --output OUT.wav --out-dir DIR`: metrics and plots."""

from __future__ import annotations

from pathlib import Path

from training.cli_support import add_capture_arguments, add_checkpoint_argument, load_checkpoint, require_training_stack


def add_arguments(p) -> None:
    add_checkpoint_argument(p)
    add_capture_arguments(p)
    p.add_argument("--out-dir", required=True, help="folder for metrics.json and the PNG plots")
    p.add_argument("--whole", action="store_true",
                   help="test on the whole file (another take), not the test split (the last 10 %%) of the capture")


def test_checkpoint(checkpoint, input_path, output_path, out_dir, whole=False, channel=None, delay=None) -> dict:
    from engine.errors import AmpemuError
    import numpy as np

    from training.capture import Segment, load_capture, split
    from training.data import predict_segment
    from training.evaluate import metrics, plot, write_metrics

    module = load_checkpoint(checkpoint)
    capture = load_capture(input_path, output_path, channel=channel, delay=delay)
    if capture.sample_rate != module.hparams.sample_rate:
        raise AmpemuError(f"{input_path}: {capture.sample_rate} Hz but the model was trained at "
                          f"{module.hparams.sample_rate} Hz; resample the capture")
    history = module.receptive_field - 1
    if whole:  # from silence, as the engine renders a file
        segment = Segment(np.concatenate([np.zeros(history, np.float32), capture.input]), capture.output, history)
    else:
        segment = split(capture, history)["test"]
    pred = predict_segment(module.net, segment)
    values = metrics(pred, segment.target, module.hparams.pre_emphasis)
    values.update(checkpoint=str(checkpoint), input=str(input_path), output=str(output_path),
                  part="whole file" if whole else "test split (the last 10 %)", sample_rate=capture.sample_rate,
                  delay_samples=capture.delay)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_metrics(values, out_dir / "metrics.json")
    values["plots"] = [str(p) for p in plot(pred, segment.target, capture.sample_rate, out_dir,
                                            Path(output_path).parent.name or "test")]
    return values


def run(args) -> int:
    require_training_stack()
    values = test_checkpoint(args.checkpoint, args.input, args.output, args.out_dir, args.whole, args.channel,
                             args.delay)
    print(f"{values['part']}: ESR {100 * values['esr']:.3f} % (pre-emphasised {100 * values['esr_pre_emphasis']:.3f} %), "
          f"SNR {values['snr_db']:.1f} dB, max abs error {values['max_abs_error']:.4f}; "
          f"metrics and plots in {args.out_dir}")
    return 0
