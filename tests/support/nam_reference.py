"""Test helpers for NAM WaveNets: random models of any shape, and a float64 numpy forward (the yardstick).

The forward is written straight from the maths in engine/formats/nam/, whole-signal and
vectorised over time, sharing nothing with the streaming kernel.
"""

import numpy as np

from engine.formats.nam import NamLayerArray, NamWaveNet


def random_nam(arrays, seed=0, scale=0.4, head_scale=0.02) -> NamWaveNet:
    """arrays: dicts with channels, head_size, kernel_size, dilations, activation, gated, head_bias
    (input_size chains automatically) and optionally A2's kernel_sizes, activations [(name, slope)],
    gating [bool], bottleneck, layer1x1 (False), head1x1 (out channels), head_kernel_size;
    weights ~ N(0, scale^2 / fan_in)."""
    rng = np.random.default_rng(seed)

    def w(*shape, fan_in):
        return (rng.standard_normal(shape) * scale / np.sqrt(fan_in)).astype(np.float32)

    out, input_size = [], 1
    for spec in arrays:
        c, h = spec["channels"], spec["head_size"]
        n = len(spec["dilations"])
        b = spec.get("bottleneck", c)
        kernels = spec.get("kernel_sizes", [spec.get("kernel_size", 3)] * n)
        gating = spec.get("gating", [bool(spec.get("gated"))] * n)
        bc = [2 * b if g else b for g in gating]
        layer1x1, h1, hk = spec.get("layer1x1", True), spec.get("head1x1"), spec.get("head_kernel_size", 1)
        head_in = h1 or b
        out.append(NamLayerArray(
            input_size=input_size, condition_size=1, head_size=h, channels=c, dilations=list(spec["dilations"]),
            kernel_sizes=list(kernels), gating=list(gating),
            activations=spec.get("activations", [(spec.get("activation", "Tanh"), spec.get("negative_slope", 0.01))] * n),
            rechannel=w(c, input_size, fan_in=input_size),
            conv_weights=[w(bc[i], c, kernels[i], fan_in=c * kernels[i]) * 3 for i in range(n)],
            conv_biases=[w(bc[i], fan_in=1) for i in range(n)],
            mixin_weights=[w(bc[i], 1, fan_in=1) * 2 for i in range(n)],
            residual_weights=[w(c, b, fan_in=b) for _ in range(n)] if layer1x1 else [],
            residual_biases=[w(c, fan_in=1) for _ in range(n)] if layer1x1 else [],
            head_weight=w(h, head_in, hk, fan_in=head_in * hk) if hk > 1 else w(h, head_in, fan_in=head_in),
            head_bias_values=w(h, fan_in=1) if spec.get("head_bias") else None,
            bottleneck=spec.get("bottleneck"), layer1x1=layer1x1,
            head1x1_weights=[w(h1, b, fan_in=b) for _ in range(n)] if h1 else None,
            head1x1_biases=[w(h1, fan_in=1) for _ in range(n)] if h1 else None,
            head_kernel_size=hk, a2=any(key in spec for key in ("kernel_sizes", "head_kernel_size", "bottleneck",
                                                                 "head1x1", "layer1x1", "activations", "gating"))))
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


def _causal_conv(w, v, dilation):
    """w (out, in, K) torch layout; tap k reads (K-1-k)*dilation samples back, zeros before the start."""
    out = np.zeros((w.shape[0], v.shape[1]))
    for k in range(w.shape[2]):
        back = (w.shape[2] - 1 - k) * dilation
        shifted = np.zeros_like(v)
        shifted[:, back:] = v[:, :v.shape[1] - back]
        out = out + w[:, :, k].astype(np.float64) @ shifted
    return out


def nam_forward(model: NamWaveNet, x: np.ndarray, prewarm: int | None = None) -> np.ndarray:
    """float64 output for x after `prewarm` zeros (default: the receptive field, as Core and the engine do)."""
    pad = model.receptive_field if prewarm is None else prewarm
    cond = np.concatenate([np.zeros(pad), np.asarray(x, dtype=np.float64)])
    length = cond.size
    layer_in, head_prev = cond[None, :], None
    for array in model.arrays:
        b = array.inner_channels
        h = array.rechannel.astype(np.float64) @ layer_in
        head = np.zeros((array.head_in, length)) if head_prev is None else head_prev
        for i, d in enumerate(array.dilations):
            z = (array.conv_biases[i][:, None] + array.mixin_weights[i].astype(np.float64) @ cond[None, :]
                 + _causal_conv(array.conv_weights[i], h, d))
            name, slope = array.layer_activation(i)
            if array.layer_gated(i):
                a = _act(name, z[:b], slope) * _act("Sigmoid", z[b:], 0.0)
            else:
                a = _act(name, z, slope)
            if array.head1x1_weights:
                head = head + array.head1x1_weights[i].astype(np.float64) @ a + array.head1x1_biases[i][:, None]
            else:
                head = head + a
            if array.layer1x1:
                h = h + array.residual_weights[i].astype(np.float64) @ a + array.residual_biases[i][:, None]
        layer_in = h
        w_head = np.asarray(array.head_weight).reshape(array.head_size, array.head_in, array.head_kernel_size)
        head_prev = _causal_conv(w_head, head, 1)
        if array.head_bias:
            head_prev = head_prev + array.head_bias_values[:, None]
    return model.head_scale * head_prev[0, pad:]


def random_lstm(hidden, layers, seed=0):
    """A NAM LSTM with random weights and initial state."""
    from engine.formats.nam import NamLSTM

    rng = np.random.default_rng(seed)

    def w(*shape):
        return (rng.standard_normal(shape) * 0.5).astype(np.float32)

    sizes = [1] + [hidden] * (layers - 1)
    return NamLSTM(input_size=1, hidden_size=hidden, w=[w(4 * hidden, n + hidden) for n in sizes],
                   b=[w(4 * hidden) for _ in sizes], h0=[w(hidden) for _ in sizes], c0=[w(hidden) for _ in sizes],
                   head_weight=w(hidden), head_bias=0.1)


def lstm_forward(model, x, prewarm=None):
    """float64 LSTM from the file's initial state after `prewarm` zeros (default: Core's half second)."""
    pad = model.prewarm_samples if prewarm is None else prewarm
    signal = np.concatenate([np.zeros(pad), np.asarray(x, dtype=np.float64)])
    h = [v.astype(np.float64) for v in model.h0]
    c = [v.astype(np.float64) for v in model.c0]
    out = np.empty(signal.size)
    hid = model.hidden_size
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    for t, sample in enumerate(signal):
        inp = np.array([sample])
        for layer in range(model.num_layers):
            z = model.w[layer].astype(np.float64) @ np.concatenate([inp, h[layer]]) + model.b[layer]
            c[layer] = sig(z[hid:2 * hid]) * c[layer] + sig(z[:hid]) * np.tanh(z[2 * hid:3 * hid])
            h[layer] = sig(z[3 * hid:]) * np.tanh(c[layer])
            inp = h[layer]
        out[t] = model.head_weight.astype(np.float64) @ inp + model.head_bias
    return out[pad:]
