"""A plain numpy (float64) forward pass of the gated WaveNet: slow, obvious, and the yardstick.

Tests compare the numba kernel against it, benchmarks run it beside the kernel, and it documents the
maths in a dozen lines. Whole-signal, from zeroed state (zero history before the first sample).
"""

import numpy as np

from engine.formats.wavenetva_json import GatedWaveNetWeights


def causal_dilated_conv(h: np.ndarray, weight: np.ndarray, bias: np.ndarray, dilation: int) -> np.ndarray:
    """h (T, Cin), weight (Cout, Cin, K) in torch layout -> (T, Cout); tap k looks (K-1-k)*d back."""
    taps = weight.shape[2]
    padded = np.concatenate([np.zeros(((taps - 1) * dilation, h.shape[1])), h])
    out = np.tile(bias.astype(np.float64), (h.shape[0], 1))
    for k in range(taps):
        start = k * dilation
        out += padded[start:start + h.shape[0]] @ weight[:, :, k].T.astype(np.float64)
    return out


def gated_wavenet_forward(model: GatedWaveNetWeights, x: np.ndarray) -> np.ndarray:
    c = model.channels
    h = np.outer(x.astype(np.float64), model.input_weight) + model.input_bias
    y = np.full(x.shape[0], float(model.mix_bias))
    for layer, dilation in enumerate(model.dilations):
        a = causal_dilated_conv(h, model.conv_weights[layer], model.conv_biases[layer], dilation)
        z = np.tanh(a[:, :c]) / (1.0 + np.exp(-a[:, c:]))
        y += z @ model.mix_weight[layer * c:(layer + 1) * c].astype(np.float64)
        h = h + z @ model.residual_weights[layer].T.astype(np.float64) + model.residual_biases[layer]
    return y
