"""Checkpoint -> model file, through the engine's format modules (the only code that knows a layout).

EXPORTERS maps a `--format` to a function (module, path, metadata) -> path. Each exporter states
which architectures it can write and refuses the others with one line.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np

from engine import families
from engine.errors import AmpemuError
from engine.formats import nam
from engine.formats.wavenetva_json import GatedWaveNetWeights, write_model
from training.model import GatedWaveNet, NamContainerNet, NamWaveNet
from training.module import CaptureModule
from training.onnx_export import export_onnx


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy().astype(np.float32)


def gated_wavenet_weights(net: GatedWaveNet, sample_rate: int, metadata: dict) -> GatedWaveNetWeights:
    """torch layers -> the engine's dataclass; the input gain is folded into the input conv weight."""
    gain = float(net.input_gain.detach())
    return GatedWaveNetWeights(
        channels=net.channels, kernel_size=net.kernel_size, dilations=list(net.dilations),
        input_weight=_np(net.input_conv.weight[:, 0, 0] * gain), input_bias=_np(net.input_conv.bias),
        conv_weights=[_np(c.weight) for c in net.convs], conv_biases=[_np(c.bias) for c in net.convs],
        residual_weights=[_np(r.weight[:, :, 0]) for r in net.residuals],
        residual_biases=[_np(r.bias) for r in net.residuals],
        mix_weight=_np(net.mix.weight[0, :, 0]), mix_bias=float(net.mix.bias.detach()[0]),
        sample_rate=int(sample_rate), metadata=metadata)


def export_json(module: CaptureModule, path, metadata: dict) -> Path:
    if not isinstance(module.net, GatedWaveNet):
        raise AmpemuError(f"--format json holds gated WaveNets only; preset '{module.hparams.preset}' "
                          f"({module.hparams.architecture}) needs another format")
    return write_model(gated_wavenet_weights(module.net, module.hparams.sample_rate, metadata), path)


def nam_wavenet(net: NamWaveNet, sample_rate: int, metadata: dict, gain: float = 1.0) -> nam.NamWaveNet:
    """torch layers -> the engine's NamWaveNet (A1 or A2 form as the net is); the input gain (the net's,
    times `gain`, a container's) is folded into every weight that reads the raw input (the first
    rechannel and each layer's mixin, all bias-free, so folding is exact)."""
    gain *= float(net.input_gain.detach())
    arrays = []
    for i, array in enumerate(net.arrays):
        n, head_k = len(array.dilations), array.head.kernel_size[0]
        head = array.head.weight if head_k > 1 else array.head.weight[:, :, 0]
        arrays.append(nam.NamLayerArray(
            input_size=array.rechannel.in_channels, condition_size=1, head_size=array.head.out_channels,
            channels=array.rechannel.out_channels, dilations=list(array.dilations),
            kernel_sizes=list(array.kernel_sizes), activations=[(array.activation, array.negative_slope)] * n,
            gating=[False] * n, rechannel=_np(array.rechannel.weight[:, :, 0] * (gain if i == 0 else 1.0)),
            conv_weights=[_np(c.weight) for c in array.convs], conv_biases=[_np(c.bias) for c in array.convs],
            mixin_weights=[_np(m.weight[:, :, 0] * gain) for m in array.mixins],
            residual_weights=[_np(r.weight[:, :, 0]) for r in array.residuals],
            residual_biases=[_np(r.bias) for r in array.residuals],
            head_weight=_np(head), head_bias_values=None if array.head.bias is None else _np(array.head.bias),
            bottleneck=None if array.bottleneck == array.rechannel.out_channels else array.bottleneck,
            head_kernel_size=head_k, a2=net.a2))
    return nam.NamWaveNet(arrays=arrays, head_scale=net.head_scale, sample_rate=int(sample_rate), metadata=metadata,
                          version=nam.A2_WRITE_VERSION if net.a2 else nam.WRITE_VERSION)


def nam_container(net: NamContainerNet, sample_rate: int, metadata: dict) -> nam.NamContainer:
    """torch container -> the engine's NamContainer; each submodel carries the metadata and its own loudness."""
    gain = float(net.input_gain.detach())
    return nam.NamContainer(
        submodels=[(top, _with_loudness(nam_wavenet(sub, sample_rate, dict(metadata), gain)))
                   for top, sub in zip(net.max_values, net.nets)],
        sample_rate=int(sample_rate), metadata=metadata, version=nam.A2_WRITE_VERSION)


def _with_loudness(model):
    """NAM's `loudness`: dBFS of the model's output on the engine's standard phrase (engine/presets/loudness.py)."""
    from engine.models import nam_model
    from engine.presets.loudness import loudness_db

    model.metadata["loudness"] = round(loudness_db(nam_model(model, fast=True)), 3)
    return model


def export_nam(module: CaptureModule, path, metadata: dict) -> Path:
    """A `.nam` NeuralAmpModelerCore loads (0.5+ for A1; a container of A2 WaveNets needs 0.7+); metadata
    gains NAM's `loudness` (of the default model) and `validation_esr`."""
    net, rate = module.net, module.hparams.sample_rate
    metadata = {**metadata, "training": {"validation_esr": metadata.get("validation_esr")}}  # where NAM's trainer puts it
    if isinstance(net, NamContainerNet):
        model = nam_container(net, rate, metadata)
        model.metadata["loudness"] = model.default.metadata["loudness"]
    elif isinstance(net, NamWaveNet):
        model = _with_loudness(nam_wavenet(net, rate, metadata))
    else:
        raise AmpemuError(f"--format nam holds NAM WaveNets only; preset '{module.hparams.preset}' "
                          f"({module.hparams.architecture}) exports as json or onnx")
    return nam.write_nam(model, path)


EXPORTERS = {"json": export_json, "onnx": export_onnx, "nam": export_nam}
# the file `ampemu train` writes at the end of a run, by architecture
NATIVE_FORMAT = {f.name: f.exporter for f in families.families() if f.exporter and f.backend == "numba"}


def model_metadata(module: CaptureModule, name: str) -> dict:
    return {"name": name, "date": datetime.date.today().isoformat(), "trained_with": "ampemu",
            "preset": module.hparams.preset, "capture": module.hparams.capture_name,
            "validation_esr": None if np.isnan(module.best_val_esr) else round(float(module.best_val_esr), 6)}


def export(module: CaptureModule, path, fmt: str = "json", name: str | None = None) -> Path:
    if fmt not in EXPORTERS:
        raise AmpemuError(f"unknown export format '{fmt}'; choose one of: {', '.join(EXPORTERS)}")
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise AmpemuError(f"{path}: the folder {path.parent} does not exist")
    return EXPORTERS[fmt](module, path, model_metadata(module, name or path.stem))
