"""Slimmable NAM models (`--slim`): a slimmable WaveNet keeps the first n channels of every tensor
(NeuralAmpModelerCore's rule); a container's submodel is picked by NamContainer.index_for."""

from __future__ import annotations

import math
from dataclasses import replace

SLIM_METHOD = "slice_channels_uniform"  # the one slimmable WaveNet method NAM has


def slim_wavenet(model, size: float):
    """Core's slimmable WaveNet at `size` (0..1): each slimmable array keeps the first
    n = allowed[min(floor(size * len), len - 1)] channels of every weight tensor (bottleneck scaled
    alike), the arrays it feeds shrink to match."""
    channels = [a.allowed_channels[min(math.floor(size * len(a.allowed_channels)), len(a.allowed_channels) - 1)]
                if a.allowed_channels else a.channels for a in model.arrays]
    arrays = []
    for i, a in enumerate(model.arrays):
        c = channels[i]
        b = max(1, a.inner_channels * c // a.channels) if a.layer1x1 else c
        n_in = a.input_size if i == 0 else channels[i - 1]
        heads = a.head_size if i + 1 == len(model.arrays) else channels[i + 1]
        head_out = a.head_in if a.head1x1_weights else b
        bg = [2 * b if a.layer_gated(l) else b for l in range(len(a.dilations))]
        arrays.append(replace(
            a, input_size=n_in, channels=c, head_size=heads, bottleneck=None if b == c else b,
            rechannel=a.rechannel[:c, :n_in],
            conv_weights=[w[:bg[l], :c] for l, w in enumerate(a.conv_weights)],
            conv_biases=[v[:bg[l]] for l, v in enumerate(a.conv_biases)],
            mixin_weights=[w[:bg[l]] for l, w in enumerate(a.mixin_weights)],
            residual_weights=[w[:c, :b] for w in a.residual_weights],
            residual_biases=[v[:c] for v in a.residual_biases],
            head1x1_weights=[w[:, :b] for w in a.head1x1_weights] if a.head1x1_weights else None,
            head_weight=a.head_weight[:heads, :head_out],
            head_bias_values=None if a.head_bias_values is None else a.head_bias_values[:heads],
            allowed_channels=None))
    return replace(model, arrays=arrays)
