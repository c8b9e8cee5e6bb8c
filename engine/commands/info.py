"""`ampemu info MODEL`: what a model file holds (architecture, rate, receptive field, cost, submodels, metadata)."""

from __future__ import annotations

import json

from engine import families
from engine.models import load_model


def add_arguments(p) -> None:
    p.add_argument("model", help="model file")


def run(args) -> int:
    model = load_model(args.model)
    rf = model.receptive_field
    print(f"{args.model}: {model.description}")
    print(f"  sample rate {model.sample_rate} Hz, receptive field {rf} samples ({1000 * rf / model.sample_rate:.1f} ms), "
          f"added latency 0 samples, output gain {model.output_gain_db:+.1f} dB")
    family, doc = families.read(args.model)
    print(f"  cost {doc.macs_per_sample} multiply-adds per sample (the default submodel for a container)")
    if family.name == "nam_container":
        _list_submodels(doc)
    if model.metadata:
        print(f"  metadata {json.dumps(model.metadata)}")
    return 0


def _list_submodels(doc) -> None:
    """A slimmable NAM container's submodels and the --slim values that pick each."""
    low = 0.0
    for i, (top, sub) in enumerate(doc.submodels):
        last = i + 1 == len(doc.submodels)
        picks = f"--slim {low:g}..{'1' if last else f'<{top:g}'}" + (" (default)" if last else "")
        rf = getattr(sub, "receptive_field", None)
        print(f"  submodel {i + 1}: {sub.describe()}" + (f", receptive field {rf}" if rf else "")
              + f", {sub.macs_per_sample} multiply-adds per sample; {picks}")
        low = top
