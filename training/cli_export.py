"""`ampemu export --checkpoint CKPT --format json|onnx|nam --out FILE`: a model file the engine plays."""

from __future__ import annotations

from engine import families
from engine.atomic import check_writable
from training.cli_support import add_checkpoint_argument, load_checkpoint, require_training_stack

FORMATS = tuple(f.exporter for f in families.families() if f.exporter)  # the registry is torch-free


def add_arguments(p) -> None:
    add_checkpoint_argument(p)
    p.add_argument("--format", default="json", choices=FORMATS, help="model file format (default json; onnx: a streaming graph, see docs/onnx.md; "
                   "nam: Neural Amp Modeler, for nam-* presets, see docs/nam.md)")
    p.add_argument("--out", required=True, help="model file to write (atomically)")
    p.add_argument("--name", default=None, help="model name stored in the file (default: the file's stem)")


def run(args) -> int:
    check_writable(args.out, "model file")
    require_training_stack()
    from training.export import export

    path = export(load_checkpoint(args.checkpoint), args.out, args.format, args.name)
    print(f"wrote {path}")
    return 0
