"""A streaming rational resampler around a model: the server's rate in, the model's rate through it, back out.

A model captured at `model_rate` on a server at `server_rate` plays as: server-rate input -> polyphase
interpolator (L / M) -> model and chain at the model's rate -> polyphase interpolator (M / L) ->
server-rate output, L / M = model_rate / server_rate in lowest terms. Both directions are Kaiser-
windowed sincs designed at the common rate L * server_rate = M * model_rate, cut off at the lower
Nyquist frequency: passband 0 .. 0.45 * min(rate) (19.8 kHz at 44.1 kHz) within +-0.001 dB,
stopband >= ATTENUATION_DB from 0.55 * min(rate). What folds back lands above the passband only.

Counting is integer and cumulative, so the ratio is exact forever (no drift) and the output does not
depend on how the stream is cut into blocks: after N server samples the model has been given exactly
ceil(N L / M) samples, and the output side always has every model sample its next N outputs need,
so every server block yields exactly as many output samples as it brought in. No allocation per block:
histories and the model-rate buffers are preallocated in `state` (float32), the two phase counters in
`cursor` (int64), the polyphase tables in `weights`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from engine.kernels.chain import process as chain_process
from engine.kernels.dispatch import process_block

ATTENUATION_DB = 80.0
PASS, STOP = 0.45, 0.55  # passband and stopband edges as fractions of the lower rate
MAX_TAPS = 1 << 18  # both polyphase tables together; a ratio that needs more is refused

# layout (int64): ratio, taps per phase, offsets
L_UP, L_DOWN, L_TAPS_IN, L_TAPS_OUT, L_MAX_BLOCK, L_MAX_MODEL = 0, 1, 2, 3, 4, 5
L_W_OUT = 6  # weights: input table at 0 (L rows of TAPS_IN), output table here (M rows of TAPS_OUT)
L_S_IN, L_S_MODEL_IN, L_S_OUT = 7, 8, 9  # state: input history, the model's input, output history
LAYOUT_SIZE = 10
# cursor (int64)
C_AHEAD_IN = 0  # next model sample's position minus the next server sample's, in common-rate units
C_AHEAD_OUT = 1  # model samples received minus server samples sent, in common-rate units


def ratio(server_rate: int, model_rate: int) -> tuple[int, int]:
    g = math.gcd(server_rate, model_rate)
    return model_rate // g, server_rate // g


def kaiser_taps(transition: float, rate: float) -> float:
    """Kaiser's estimate of the filter length for ATTENUATION_DB and a transition band of
    `transition` Hz, in samples at `rate`."""
    return (ATTENUATION_DB - 7.95) / (2.285 * 2.0 * math.pi * transition / rate) + 1.0


def prototype(phases: int, taps: int, cutoff: float, common_rate: float) -> np.ndarray:
    """(phases, taps) polyphase table of a windowed sinc of length phases * taps at `common_rate`,
    with gain `phases` (an interpolator by that factor). Row r holds h[r + (taps - 1 - j) * phases]
    at column j: a dot product with the last `taps` input samples, oldest first."""
    n = phases * taps
    t = np.arange(n) - (n - 1) / 2.0
    beta = 0.1102 * (ATTENUATION_DB - 8.7)
    h = 2.0 * cutoff / common_rate * np.sinc(2.0 * cutoff / common_rate * t) * np.kaiser(n, beta)
    h *= phases / h.sum()
    return h.reshape(taps, phases).T[:, ::-1].copy()


def design(server_rate: int, model_rate: int) -> tuple[int, int, np.ndarray, np.ndarray, float]:
    """(L, M, input table, output table, latency in server samples) for the pair of rates."""
    up, down = ratio(server_rate, model_rate)
    low = min(server_rate, model_rate)
    common = up * server_rate
    taps_in = math.ceil(kaiser_taps((STOP - PASS) * low, server_rate))
    taps_out = math.ceil(kaiser_taps((STOP - PASS) * low, model_rate))
    if up * taps_in + down * taps_out > MAX_TAPS:
        raise ValueError(f"no resampler between {server_rate} and {model_rate} Hz: the ratio {up}/{down} needs "
                         f"{up * taps_in + down * taps_out} taps (at most {MAX_TAPS})")
    table_in = prototype(up, taps_in, low / 2.0, common)
    table_out = prototype(down, taps_out, low / 2.0, common)
    latency = ((up * taps_in - 1) / 2.0 + (down * taps_out - 1) / 2.0) / up
    return up, down, table_in, table_out, latency


def build(server_rate: int, model_rate: int, max_block: int):
    """(layout, weights, state, cursor, latency) for blocks of at most `max_block` server samples."""
    up, down, table_in, table_out, latency = design(server_rate, model_rate)
    taps_in, taps_out = table_in.shape[1], table_out.shape[1]
    max_model = -(-max_block * up // down) + 1
    layout = np.zeros(LAYOUT_SIZE, np.int64)
    layout[L_UP], layout[L_DOWN], layout[L_TAPS_IN], layout[L_TAPS_OUT] = up, down, taps_in, taps_out
    layout[L_MAX_BLOCK], layout[L_MAX_MODEL], layout[L_W_OUT] = max_block, max_model, table_in.size
    sizes = [taps_in - 1 + max_block, max_model, taps_out + max_model]
    layout[L_S_IN:L_S_OUT + 1] = np.cumsum([0] + sizes)[:3]
    weights = np.concatenate([table_in.ravel(), table_out.ravel()]).astype(np.float32)
    return layout, weights, np.zeros(sum(sizes), np.float32), np.zeros(2, np.int64), latency


@njit(cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
def _dot(row, window, taps):
    """One output sample: a phase's taps against the input history. Reassociation lets LLVM vectorise
    the sum (7x faster than the strict order on x86); the order is then fixed by the compiled code,
    the same for every block partition and for the callback and the offline render."""
    acc = np.float32(0.0)
    for j in range(taps):
        acc += row[j] * window[j]
    return acc


@njit(cache=True, error_model="numpy")
def model_buffers(layout, state, m):
    """The model's input and output for the last `consume`: m samples each, at the model's rate
    (the output is where `produce` reads it: the model and its chain write it in place)."""
    xm = state[layout[L_S_MODEL_IN]:layout[L_S_MODEL_IN] + m]
    out = layout[L_S_OUT] + layout[L_TAPS_OUT]
    return xm, state[out:out + m]


@njit(cache=True, error_model="numpy")
def consume(layout, weights, state, cursor, x):
    """Take x (server rate, at most max_block samples); return m, the model-rate samples now ready
    (model_buffers' input). A model sample is made once the newest server sample it needs arrived."""
    up, down, taps = layout[L_UP], layout[L_DOWN], layout[L_TAPS_IN]
    n = min(x.shape[0], layout[L_MAX_BLOCK])
    history = state[layout[L_S_IN]:layout[L_S_IN] + taps - 1 + n]
    xm = state[layout[L_S_MODEL_IN]:layout[L_S_MODEL_IN] + layout[L_MAX_MODEL]]
    for t in range(n):
        history[taps - 1 + t] = x[t]
    ahead, m = cursor[C_AHEAD_IN], 0
    for t in range(n):
        while ahead < up and m < xm.shape[0]:
            xm[m] = _dot(weights[ahead * taps:(ahead + 1) * taps], history[t:t + taps], taps)
            m += 1
            ahead += down
        ahead -= up
    cursor[C_AHEAD_IN] = ahead
    for j in range(taps - 1):  # keep the newest taps - 1 inputs for the next block
        history[j] = history[n + j]
    return m


@njit(cache=True, error_model="numpy")
def produce(layout, weights, state, cursor, m, y):
    """The model's m output samples (model_buffers' output) in; y (server rate, as many samples as
    the matching `consume` took) out."""
    up, down, taps = layout[L_UP], layout[L_DOWN], layout[L_TAPS_OUT]
    history = state[layout[L_S_OUT]:layout[L_S_OUT] + taps + m]
    table = weights[layout[L_W_OUT]:layout[L_W_OUT] + down * taps]
    ahead = cursor[C_AHEAD_OUT] + m * down
    newest = taps + m - 1
    for t in range(y.shape[0]):
        # the newest model sample this output needs is `back` samples before the newest received
        back = min(max((ahead + down - 1) // down - 1, 0), m)
        phase = (back + 1) * down - ahead
        phase = min(max(phase, 0), down - 1)
        y[t] = _dot(table[phase * taps:(phase + 1) * taps], history[newest - back - taps + 1:newest - back + 1], taps)
        ahead -= up
    cursor[C_AHEAD_OUT] = ahead
    for j in range(taps):  # keep the newest `taps` model samples
        history[j] = history[m + j]


@njit(cache=True, error_model="numpy")
def resample_in_blocks(layout, weights, state, cursor, x, y, block):
    """x through both directions with nothing between them (the resampler alone), in `block`s."""
    for start in range(0, x.shape[0], block):
        for lo in range(start, min(start + block, x.shape[0]), layout[L_MAX_BLOCK]):
            hi = min(lo + layout[L_MAX_BLOCK], start + block, x.shape[0])
            m = consume(layout, weights, state, cursor, x[lo:hi])
            xm, ym = model_buffers(layout, state, m)
            ym[:] = xm
            produce(layout, weights, state, cursor, m, y[lo:hi])


@njit(cache=True, error_model="numpy")
def play_in_blocks(layout, weights, state, cursor, model_layout, model_weights, model_state, model_cursor,
                   chain_layout, chain_weights, chain_state, chain_fstate, params, has_chain, x, y, block):
    """x (server rate) through the resampler, the model and its chain (has_chain) at the model's rate,
    and back, in consecutive `block`-sized calls: what the callback does (engine/realtime/block.py)."""
    for start in range(0, x.shape[0], block):
        for lo in range(start, min(start + block, x.shape[0]), layout[L_MAX_BLOCK]):
            hi = min(lo + layout[L_MAX_BLOCK], start + block, x.shape[0])
            m = consume(layout, weights, state, cursor, x[lo:hi])
            xm, ym = model_buffers(layout, state, m)
            process_block(model_layout, model_weights, model_state, model_cursor, xm, ym)
            if has_chain:
                chain_process(chain_layout, chain_weights, chain_state, chain_fstate, params, xm, ym)
            produce(layout, weights, state, cursor, m, y[lo:hi])
