"""`ampemu info MODEL`: what a model file holds (architecture, rate, receptive field, metadata)."""

from __future__ import annotations

import json

from engine.models import load_model


def add_arguments(p) -> None:
    p.add_argument("model", help="model file")


def run(args) -> int:
    model = load_model(args.model)
    rf = model.receptive_field
    print(f"{args.model}: {model.description}")
    print(f"  sample rate {model.sample_rate} Hz, receptive field {rf} samples ({1000 * rf / model.sample_rate:.1f} ms), "
          f"added latency 0 samples, output gain {model.output_gain_db:+.1f} dB")
    if model.metadata:
        print(f"  metadata {json.dumps(model.metadata)}")
    return 0
