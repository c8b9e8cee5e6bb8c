"""Neural Amp Modeler `.nam` files: WaveNets (A1 and A2), LSTMs and slimmable containers read; WaveNets written.

This package is the only place that knows the `.nam` layout; the kernel and training go through
`NamWaveNet`. model.py: the dataclasses; parse.py: reading and checking; write.py: writing;
slim.py: slimmable sizes; activations.py: the activation codes compiled into the kernel.

A `.nam` file is one JSON object:
- `version` "0.5.x".."0.7.x", `architecture` "WaveNet", `sample_rate` (absent means 48000),
  `metadata` (free-form: name, loudness, input/output dBu, gear...), `config`, `weights`.
- `config`: `layers` (a list of layer arrays: input_size, condition_size, head_size, channels,
  kernel_size, dilations, activation, gated, head_bias), `head` null, `head_scale`.
- `weights`: one flat list, each torch weight (out, in, k) flattened row-major, in this order:
  per array: rechannel (C, in) without bias; per layer: dilated conv (C', C, K) + bias (C',),
  input mixin (C', condition) without bias, 1x1 residual (C, C) + bias (C,) [C' = 2C when gated];
  then the head rechannel (H, C) + bias (H,) if head_bias. Last: head_scale (NeuralAmpModelerCore
  uses this value, not the config's).

Maths (the kernel's contract): array a's input is the raw signal for a = 0, else the last layer
output of array a-1; its head accumulator starts at zero for a = 0, else at array a-1's head output.
Per layer, z = conv(h) + mixin(x) (x = the raw input, the condition); a = act(z), or
act(z[:C]) * sigmoid(z[C:]) when gated; head += a; h <- h + 1x1(a). The array's head output is its
head rechannel of the accumulator; the model's output is the last array's head output * head_scale.

A2 (NAM 0.13's default export, file version 0.7) writes the same arrays with per-layer lists
(`kernel_sizes`, `activation`, `gating_mode`: a list or one value for every layer), a `bottleneck` B
(the conv, mixin and activation have B channels, `layer1x1` maps B -> C with bias, or is inactive and
the residual is the identity), an optional `head1x1` (B -> O with bias, whose output the head
accumulates instead of the activation), and `head: {out_channels, kernel_size, bias}` instead of
head_size/head_bias: the array's head is a causal conv of that kernel size. Weights per layer: conv,
mixin, [layer1x1], [head1x1]; per array: rechannel, layers, head conv. Receptive field (Core's prewarm):
1 + sum over arrays of (sum (K_l - 1) d_l + head kernel - 1).

`LSTM` (NamLSTM): stacked torch LSTM cells then a linear head; `SlimmableContainer` (NamContainer):
submodels sorted by `max_value`, each a complete `.nam` document.

A layer array's `slimmable: {method: slice_channels_uniform, kwargs: {allowed_channels}}` makes a
slimmable WaveNet (`NamWaveNet.slimmed`: the first n channels of every tensor, Core's rule).

`config.condition_dsp` (a WaveNet) runs on the input; its multi-channel output (its last head_size
channels, times its head_scale) replaces the raw input as every layer's condition (mixin weights
(B', condition_size)); the first array's input stays the raw signal.

Features not implemented (blended gating, FiLM, grouped convs, a post-stack head, ConvNet, Linear, ...)
are refused in one line that names the feature.

Written: WaveNets (A1 arrays in the classic config, A2 arrays with every key NAM 0.13 writes), LSTMs
and SlimmableContainers of WaveNets (write.py).
"""

from engine.formats.nam.activations import ACTIVATIONS, DEFAULT_NEGATIVE_SLOPE
from engine.formats.nam.model import A2_WRITE_VERSION, DEFAULT_SAMPLE_RATE, WRITE_VERSION, NamContainer, NamLayerArray, NamLSTM, NamWaveNet
from engine.formats.nam.parse import SUPPORTED, parse_nam, read_nam
from engine.formats.nam.write import array_config, to_document, write_nam

__all__ = ["A2_WRITE_VERSION", "ACTIVATIONS", "DEFAULT_NEGATIVE_SLOPE", "DEFAULT_SAMPLE_RATE", "WRITE_VERSION", "SUPPORTED", "NamContainer",
           "NamLayerArray", "NamLSTM", "NamWaveNet", "array_config", "parse_nam", "read_nam", "to_document",
           "write_nam"]
