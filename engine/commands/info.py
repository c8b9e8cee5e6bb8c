"""`ampemu info FILE`: what a model file holds (architecture, rate, receptive field, cost, submodels,
metadata), or what a cabinet impulse response (.wav) holds and what it costs to play."""

from __future__ import annotations

import json

from engine import families
from engine.chain.chain import PARTITION
from engine.chain.ir import read_ir, resample
from engine.models import load_model


def add_arguments(p) -> None:
    p.add_argument("model", metavar="FILE", help="model file (.json, .nam) or cabinet impulse response (.wav)")


def run(args) -> int:
    if args.model.lower().endswith(".wav"):
        print(describe_ir(args.model))
        return 0
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
        name = families.of_model(doc).size_name(doc, low)
        print(f"  submodel {i + 1} ({name}): {sub.describe()}" + (f", receptive field {rf}" if rf else "")
              + f", {sub.macs_per_sample} multiply-adds per sample; {picks}")
        low = top


def describe_ir(path) -> str:
    """Length, rate, peak and energy of an IR, and what convolving it costs at 48 kHz."""
    ir = read_ir(path)
    at48 = resample(ir.samples, ir.rate, 48000).size
    partitions = max(0, -(-at48 // PARTITION) - 1)
    # direct-form head: one multiply-add per tap; each partition: one complex multiply-add per bin per
    # PARTITION samples (4 real), plus two 128-point FFTs per partition
    macs = min(at48, PARTITION) + partitions * 4 * (PARTITION + 1) // PARTITION
    channels = f", {ir.channels} channels (the first is used)" if ir.channels > 1 else ""
    return (f"{path}: cabinet impulse response, {ir.samples.size} samples at {ir.rate} Hz ({1000 * ir.seconds:.1f} ms)"
            f"{channels}\n  peak {ir.peak_db:+.1f} dBFS, energy {ir.energy_db:+.1f} dB (white-noise gain; "
            f"--ir-normalize makes it 0)\n  cost at 48 kHz: {at48} taps = {PARTITION}-tap direct head + "
            f"{partitions} FFT partitions, about {macs} multiply-adds per sample plus two "
            f"{2 * PARTITION}-point FFTs per {PARTITION} samples; added latency 0 samples")
