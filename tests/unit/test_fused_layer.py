"""fused_layer.py (a whole few-channel NAM layer in one LLVM IR pass) against numpy, and the NAM kernel's
fused path against its general path on real A2 models."""

import numpy as np
import pytest
import soundfile as sf
from numba import njit

from support.audio import run_blocks
from support.data import data_file
from engine.kernels import nam_wavenet
from engine.kernels.linalg import TILE
from engine.models import load_model

C = nam_wavenet.FUSED_CHANNELS


@njit(cache=False, _nrt=False, error_model="numpy")
def _layer(state, weights, now, stride, taps, dil, x_at, w_conv, b_conv, w_mix, slope_at, w_res, b_res, dest,
           dest_stride, head_at, width):
    nam_wavenet._FUSED_LAYER(state, weights, now, stride, taps, dil, x_at, w_conv, b_conv, w_mix, slope_at, w_res,
                             b_res, dest, dest_stride, head_at, width)


def reference(state, w, now, stride, taps, dil, x_at, w_conv, b_conv, w_mix, slope_at, w_res, b_res, head_at, width):
    """(the next layer's input rows, the head accumulator's rows) in float64."""
    s, w = state.astype(np.float64), w.astype(np.float64)
    x = s[x_at:x_at + width]
    z = np.empty((C, width))
    for o in range(C):
        z[o] = w[w_mix + o] * x + w[b_conv + o]
        for k in range(taps):
            for j in range(C):
                start = now + j * stride - (taps - 1 - k) * dil
                z[o] += w[w_conv + (k * C + j) * C + o] * s[start:start + width]
    a = np.maximum(z, 0) + w[slope_at] * np.minimum(z, 0)
    h = np.stack([s[now + o * stride:now + o * stride + width] for o in range(C)])
    res = h + w[b_res:b_res + C, None] + np.einsum("jo,jt->ot", w[w_res:w_res + C * C].reshape(C, C), a)
    head = np.stack([s[head_at + o * width:head_at + (o + 1) * width] for o in range(C)]) + a
    return res, head


@pytest.mark.parametrize("taps, dil", [(1, 0), (6, 1), (6, 239), (15, 13)])
@pytest.mark.parametrize("tiles", [1, 2, 3])
@pytest.mark.parametrize("slope", [0.0, 0.01])
def test_fused_layer_matches_numpy(taps, dil, tiles, slope):
    rng = np.random.default_rng(taps * 100 + tiles * 10 + int(slope * 100))
    width = tiles * TILE
    stride = (taps - 1) * dil + width + 5  # rows not a multiple of the vector apart
    now = (taps - 1) * dil + 3
    x_at = now + C * stride + 1
    dest, dest_stride = x_at + width + 7, width + 3
    head_at = dest + C * dest_stride + 2
    state = rng.standard_normal(head_at + C * width + 16).astype(np.float32)
    w = rng.standard_normal(200 + taps * C * C).astype(np.float32)
    b_conv, w_mix, slope_at, w_res, b_res, w_conv = 1, 4, 7, 8, 17, 20
    w[slope_at] = slope
    res, head = reference(state, w, now, stride, taps, dil, x_at, w_conv, b_conv, w_mix, slope_at, w_res, b_res,
                          head_at, width)
    before = state.copy()
    _layer(state, w, now, stride, taps, dil, x_at, w_conv, b_conv, w_mix, slope_at, w_res, b_res, dest, dest_stride,
           head_at, width)
    got_res = np.stack([state[dest + o * dest_stride:dest + o * dest_stride + width] for o in range(C)])
    got_head = state[head_at:head_at + C * width].reshape(C, width)
    assert np.allclose(got_res, res, rtol=1e-5, atol=1e-5)
    assert np.allclose(got_head, head, rtol=1e-5, atol=1e-5)
    written = np.zeros(state.size, bool)
    for o in range(C):
        written[dest + o * dest_stride:dest + o * dest_stride + width] = True
    written[head_at:head_at + C * width] = True
    assert np.array_equal(state[~written], before[~written])  # nothing outside the two outputs


def _fused_flags(layout):
    first = nam_wavenet._ARRAYS + nam_wavenet._ARRAY_RECORD * layout[nam_wavenet._N_ARRAYS]
    return [first + nam_wavenet._LAYER_RECORD * i + nam_wavenet._FUSED for i in range(layout[nam_wavenet._N_LAYERS])]


@pytest.mark.parametrize("name, slim, fused", [("fuzzface_a2", 0.25, 23), ("slimmable_wavenet", None, 10),
                                               ("fuzzface_a2", None, 0)])
def test_fused_path_plays_what_the_general_path_plays(name, slim, fused):
    """A2-Lite (3 channels, LeakyReLU) and a 3-channel ReLU model go through the fused layer, A2-Full
    (8 channels) does not; with the flags cleared the same model plays the general path: the same
    output to the bit (the fused layer does the same operations in the same order)."""
    guitar = sf.read(data_file("models", "nam", "golden", "input_guitar_6s.wav"), dtype="float32")[0][:48000]
    model = load_model(data_file("models", "nam-a2", f"{name}.nam"), slim=slim)
    flags = _fused_flags(model.layout)
    assert sum(model.layout[flags]) == fused
    fused_out = run_blocks(model, guitar, 64)
    model.layout[flags] = 0
    general_out = run_blocks(model, guitar, 64)
    assert np.array_equal(fused_out, general_out)
