"""Test helpers for NAM WaveNets: random models of any shape, and a float64 numpy forward (the yardstick).

The forward is written straight from the maths in engine/formats/nam.py, whole-signal and
vectorised over time, sharing nothing with the streaming kernel.
"""

import numpy as np

from engine.formats.nam import NamLayerArray, NamWaveNet


def random_nam(arrays, seed=0, scale=0.4, head_scale=0.02) -> NamWaveNet:
    """arrays: dicts with channels, head_size, kernel_size, dilations, activation, gated, head_bias
    (input_size chains automatically); weights ~ N(0, scale^2 / fan_in)."""
    rng = np.random.default_rng(seed)

    def w(*shape, fan_in):
        return (rng.standard_normal(shape) * scale / np.sqrt(fan_in)).astype(np.float32)

    out, input_size = [], 1
    for spec in arrays:
        c, k, h = spec["channels"], spec["kernel_size"], spec["head_size"]
        cc = 2 * c if spec.get("gated") else c
        n = len(spec["dilations"])
        out.append(NamLayerArray(
            input_size=input_size, condition_size=1, head_size=h, channels=c, kernel_size=k,
            dilations=list(spec["dilations"]), activation=spec.get("activation", "Tanh"), gated=bool(spec.get("gated")),
            rechannel=w(c, input_size, fan_in=input_size),
            conv_weights=[w(cc, c, k, fan_in=c * k) * 3 for _ in range(n)],
            conv_biases=[w(cc, fan_in=1) for _ in range(n)],
            mixin_weights=[w(cc, 1, fan_in=1) * 2 for _ in range(n)],
            residual_weights=[w(c, c, fan_in=c) for _ in range(n)],
            residual_biases=[w(c, fan_in=1) for _ in range(n)],
            head_weight=w(h, c, fan_in=c),
            head_bias_values=w(h, fan_in=1) if spec.get("head_bias") else None,
            negative_slope=spec.get("negative_slope", 0.01)))
        input_size = c
    return NamWaveNet(arrays=out, head_scale=head_scale, metadata={"name": f"random-{seed}"})


def _act(name, v, slope):
    if name == "Tanh":
        return np.tanh(v)
    if name == "Hardtanh":
        return np.clip(v, -1.0, 1.0)
    if name == "ReLU":
        return np.maximum(v, 0.0)
    if name == "LeakyReLU":
        return np.where(v > 0, v, slope * v)
    if name == "Sigmoid":
        return 1.0 / (1.0 + np.exp(-v))
    if name == "SiLU":
        return v / (1.0 + np.exp(-v))
    if name == "Hardswish":
        return v * np.clip(v + 3.0, 0.0, 6.0) / 6.0
    raise ValueError(name)


def nam_forward(model: NamWaveNet, x: np.ndarray, prewarm: int | None = None) -> np.ndarray:
    """float64 output for x after `prewarm` zeros (default: the receptive field, as Core and the engine do)."""
    pad = model.receptive_field if prewarm is None else prewarm
    cond = np.concatenate([np.zeros(pad), np.asarray(x, dtype=np.float64)])
    length = cond.size
    layer_in, head_prev = cond[None, :], None
    for array in model.arrays:
        c = array.channels
        h = array.rechannel.astype(np.float64) @ layer_in
        head = np.zeros((c, length)) if head_prev is None else head_prev
        for i, d in enumerate(array.dilations):
            wc = array.conv_weights[i].astype(np.float64)
            z = array.conv_biases[i][:, None] + array.mixin_weights[i].astype(np.float64) @ cond[None, :]
            for k in range(array.kernel_size):
                back = (array.kernel_size - 1 - k) * d
                shifted = np.zeros_like(h)
                shifted[:, back:] = h[:, :length - back]
                z = z + wc[:, :, k] @ shifted
            if array.gated:
                a = _act(array.activation, z[:c], array.negative_slope) * _act("Sigmoid", z[c:], 0.0)
            else:
                a = _act(array.activation, z, array.negative_slope)
            head = head + a
            h = h + array.residual_weights[i].astype(np.float64) @ a + array.residual_biases[i][:, None]
        layer_in = h
        head_prev = array.head_weight.astype(np.float64) @ head
        if array.head_bias:
            head_prev = head_prev + array.head_bias_values[:, None]
    return model.head_scale * head_prev[0, pad:]
