"""`ampemu bench` rows that need training's code: `torch` (training's streaming wrapper, eager) and the
ONNX export that lets `onnxruntime` time a gated WaveNet. ampemu_tools/benchmarking.py imports this
module on demand (its PLUGINS); importing it registers both. torch itself is imported only when a
row is built, so registering costs nothing."""

from __future__ import annotations

from pathlib import Path

from ampemu_tools.benchmarking import (Runner, Unavailable, python_runner, register_backend,
                                       register_onnx_exporter)
from ampemu_tools.bench_models import Target


def torch_network(target: Target):
    """The gated WaveNet as training's torch module with the target's weights (needs torch)."""
    if target.family == "onnx":
        raise Unavailable("an .onnx file plays on onnxruntime only")
    if target.family != "gated_wavenet":
        raise Unavailable("torch and ONNX export here cover the gated WaveNet only")
    try:
        import torch
        from training.model import GatedWaveNet
    except ImportError:
        raise Unavailable("torch is not installed") from None
    w = target.model
    net = GatedWaveNet(w.channels, w.kernel_size, w.dilations).eval()
    with torch.no_grad():
        net.input_conv.weight[:, 0, 0] = torch.from_numpy(w.input_weight)
        net.input_conv.bias[:] = torch.from_numpy(w.input_bias)
        for layer, (conv, residual) in enumerate(zip(net.convs, net.residuals)):
            conv.weight[:] = torch.from_numpy(w.conv_weights[layer])
            conv.bias[:] = torch.from_numpy(w.conv_biases[layer])
            residual.weight[:, :, 0] = torch.from_numpy(w.residual_weights[layer])
            residual.bias[:] = torch.from_numpy(w.residual_biases[layer])
        net.mix.weight[0, :, 0] = torch.from_numpy(w.mix_weight)
        net.mix.bias[:] = float(w.mix_bias)
    return net


class _TorchStreaming:
    """training/onnx_export.StreamingNetwork (the graph onnxruntime runs), eager, one call per block."""

    def __init__(self, net):
        import torch
        from training.onnx_export import StreamingNetwork

        self.torch = torch
        torch.set_num_threads(1)  # like every other backend: one core
        self.streaming = StreamingNetwork(net).eval()
        self.reset()

    def reset(self):
        self.states = self.streaming.initial_state()

    def process(self, x, y):
        with self.torch.inference_mode():
            out, *self.states = self.streaming(self.torch.from_numpy(x), *self.states)
        y[:] = out.numpy()
        return y


def _torch_runner(target: Target, workdir: Path) -> Runner:
    return python_runner(_TorchStreaming(torch_network(target)))


def export_onnx(target: Target, workdir: Path) -> Path:
    """The target as a streaming .onnx in workdir (exported on the fly: needs torch and onnx)."""
    net = torch_network(target)
    try:
        from training.onnx_export import network_properties, onnx_bytes
    except ImportError:
        raise Unavailable("exporting to ONNX needs the train extra (torch, onnx)") from None
    path = workdir / f"{target.name}.onnx"
    path.write_bytes(onnx_bytes(net, network_properties(net, "gated_wavenet", {}, target.sample_rate, target.name, {})))
    return path


register_backend("torch", _torch_runner)
register_onnx_exporter(export_onnx)
