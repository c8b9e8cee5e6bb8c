"""The signal chain around a model, compiled: noise gate, tone stack, cabinet IR, high-pass.

Order (NeuralAmpModelerPlugin's): the gate's trigger listens to the model's input, its gain applies
to the model's output; then bass / mid / treble (RBJ low shelf, peaking, high shelf), the cabinet
impulse response, and a high-pass that keeps DC and rumble out of the speaker. Levels are the
slot's gains (engine/realtime/block.py).

Like a model, a chain is four flat arrays: `layout` (int64 sizes and offsets, read-only),
`weights` (float32: the IR's head taps and its partitions' spectra, FFT tables), `state` (float32:
the IR's input history, spectra of past input and the spectrum being summed) and `fstate` (float64:
filter and gate state, the coefficients, scratch). Zeroed arrays are a reset chain: the first block initialises the rest.
Parameters arrive with every block as a float64 vector (`P_*`), so the callback can take them from
the control channel and MIDI, and coefficients are recomputed only when a value changed.

Zero added latency: the first `partition` IR taps run in direct form, sample by sample; the rest
is uniformly partitioned FFT convolution (overlap-save, 2 * partition points) whose output for a
partition is ready when the previous input partition completes. The output for every block
partition is therefore the same, within float rounding of the FFT (tests/test_chain.py).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from engine.kernels import fft
from engine.kernels.cmac import WIDTH, complex_multiply_add

# --- parameters, one float64 vector per block -------------------------------------------------
P_GATE_DB, P_GATE_RELEASE_MS, P_GATE_HOLD_MS, P_GATE_HYSTERESIS_DB = 0, 1, 2, 3
P_BASS, P_MID, P_TREBLE, P_HIGHPASS_HZ = 4, 5, 6, 7
N_PARAMS = 8
GATE_OFF = -1000.0  # a gate threshold at or below this: no gate
CC_GATE_RANGE_DB = (-100.0, -20.0)  # a MIDI gate controller at 1..127; 0 turns the gate off
CC_EQ_RANGE_DB = 12.0  # a MIDI tone controller: 0 -> -12 dB, 64 -> 0 dB, 127 -> +12 dB

# tone stack corner frequencies (Hz) and the mid band's Q, as NAM's basic tone stack
BASS_HZ, MID_HZ, MID_Q, TREBLE_HZ = 150.0, 425.0, 0.7, 1800.0
# the gate, as NAM's: level detector half-life, ratio (dB of reduction per dB^2 under the
# threshold), time to open fully, floor of the detector
GATE_LEVEL_S, GATE_RATIO, GATE_OPEN_S, GATE_FLOOR_DB = 0.01, 0.1, 0.005, -120.0
HOLDING, MOVING = 0.0, 1.0

# --- layout (int64) ---------------------------------------------------------------------------
L_RATE, L_PART, L_TAIL, L_HEAD = 0, 1, 2, 3  # rate, partition, IR partitions after the head, head taps
L_W_HEAD, L_W_HRE, L_W_HIM, L_W_COS, L_W_SIN, L_W_RCOS, L_W_RSIN = 4, 5, 6, 7, 8, 9, 10
L_S_FRE, L_S_FIM, L_S_XIN, L_S_TAIL = 11, 12, 13, 14
L_F_WORK, L_F_SIZE = 15, 16
L_S_ACC = 17  # the sum of spectra, float32 like its terms
L_BITREV = 24  # + i: the FFT's bit-reversal permutation (partition entries)

# --- fstate (float64) ---------------------------------------------------------------------------
F_PHASE, F_POS = 0, 1  # samples into the current partition; newest row of input spectra
F_LEVEL, F_REDUCTION, F_GATE_STATE, F_HELD, F_GATE_ON = 2, 3, 4, 5, 6  # detector power, dB, state, samples
F_CACHE = 8  # + band: the dB (or Hz) each biquad's coefficients were computed for
F_COEF = 16  # + 5 * band: b0, b1, b2, a1, a2 (a0 = 1)
F_HIST = 36  # + 4 * band: x[n-1], x[n-2], y[n-1], y[n-2]
BASS, MID, TREBLE, HIGHPASS = 0, 1, 2, 3
F_WORK = 52


def cc_gate_db(value: int) -> float:
    """The gate threshold a controller at `value` sets (the callback reads a table of these)."""
    low, high = CC_GATE_RANGE_DB
    return GATE_OFF if value == 0 else low + (high - low) * (value - 1) / 126


def cc_eq_db(value: int) -> float:
    """The bass / mid / treble gain (dB) a controller at `value` sets."""
    return float(np.clip((value - 64) / 63 * CC_EQ_RANGE_DB, -CC_EQ_RANGE_DB, CC_EQ_RANGE_DB))


def build(ir: np.ndarray, rate: int, partition: int = 64):
    """(layout, weights, state, fstate) for an IR (float, any length; empty: no convolution)."""
    if partition < 4 or partition & (partition - 1):
        raise ValueError(f"partition {partition}: a power of two >= 4")
    ir = np.asarray(ir, np.float64).ravel()
    p, bins = partition, partition + 1
    head = min(ir.size, p)
    tail = max(0, -(-ir.size // p) - 1)
    cos_t, sin_t, rcos, rsin, bitrev = fft.tables(2 * p)
    spectra = np.zeros((tail, bins), np.complex128)
    for k in range(tail):
        part = np.zeros(2 * p)
        chunk = ir[(k + 1) * p:(k + 2) * p]
        part[:chunk.size] = chunk
        spectra[k] = np.fft.rfft(part) / p  # 1/p: the inverse transform is unnormalised
    pieces = [np.pad(ir[:head], (0, p - head)), spectra.real.ravel(), spectra.imag.ravel(), cos_t, sin_t, rcos, rsin]
    offsets = np.cumsum([0] + [x.size for x in pieces])
    layout = np.zeros(L_BITREV + p, np.int64)
    layout[L_RATE], layout[L_PART], layout[L_TAIL], layout[L_HEAD] = rate, p, tail, head
    layout[L_W_HEAD:L_W_RSIN + 1] = offsets[:7]
    layout[L_BITREV:] = bitrev
    pieces.append(np.zeros(WIDTH))  # the MAC's last WIDTH reads past the spectra's last row
    weights = np.concatenate(pieces).astype(np.float32)
    state_sizes = [tail * bins, tail * bins, 2 * p, p, 2 * sum_stride(bins) + WIDTH]
    layout[L_S_FRE:L_S_TAIL + 1] = np.cumsum([0] + state_sizes)[:4]
    layout[L_S_ACC] = sum(state_sizes[:4])
    layout[L_F_WORK] = F_WORK
    layout[L_F_SIZE] = F_WORK + 2 * p + 2 * p + p  # fft work, real signal, head sums
    return layout, weights, np.zeros(sum(state_sizes), np.float32), np.zeros(layout[L_F_SIZE], np.float64)


# --- biquads ------------------------------------------------------------------------------------

@njit(cache=True, error_model="numpy")
def biquad_coefficients(band, value, rate):
    """RBJ cookbook (b0, b1, b2, a1, a2) normalised by a0: bass low shelf, mid peaking, treble high
    shelf (value in dB, shelf slope 1); the high-pass (value in Hz) is a first-order section."""
    if band == HIGHPASS:  # first order, bilinear with the corner prewarped: -3 dB at `value` Hz
        k = math.tan(math.pi * min(max(value, 1.0), 0.45 * rate) / rate)
        return 1.0 / (1.0 + k), -1.0 / (1.0 + k), 0.0, (k - 1.0) / (k + 1.0), 0.0
    a = 10.0 ** (value / 40.0)
    if band == MID:
        w0 = 2.0 * math.pi * MID_HZ / rate
        cw, alpha = math.cos(w0), math.sin(w0) / (2.0 * MID_Q)
        a0 = 1.0 + alpha / a
        return (1.0 + alpha * a) / a0, -2.0 * cw / a0, (1.0 - alpha * a) / a0, -2.0 * cw / a0, (1.0 - alpha / a) / a0
    w0 = 2.0 * math.pi * (BASS_HZ if band == BASS else TREBLE_HZ) / rate
    cw = math.cos(w0)
    two_sqrt_a_alpha = 2.0 * math.sqrt(a) * math.sin(w0) / 2.0 * math.sqrt(2.0)  # slope S = 1
    if band == BASS:
        a0 = (a + 1.0) + (a - 1.0) * cw + two_sqrt_a_alpha
        return (a * ((a + 1.0) - (a - 1.0) * cw + two_sqrt_a_alpha) / a0, 2.0 * a * ((a - 1.0) - (a + 1.0) * cw) / a0,
                a * ((a + 1.0) - (a - 1.0) * cw - two_sqrt_a_alpha) / a0, -2.0 * ((a - 1.0) + (a + 1.0) * cw) / a0,
                ((a + 1.0) + (a - 1.0) * cw - two_sqrt_a_alpha) / a0)
    a0 = (a + 1.0) - (a - 1.0) * cw + two_sqrt_a_alpha
    return (a * ((a + 1.0) + (a - 1.0) * cw + two_sqrt_a_alpha) / a0, -2.0 * a * ((a - 1.0) + (a + 1.0) * cw) / a0,
            a * ((a + 1.0) + (a - 1.0) * cw - two_sqrt_a_alpha) / a0, 2.0 * ((a - 1.0) - (a + 1.0) * cw) / a0,
            ((a + 1.0) - (a - 1.0) * cw - two_sqrt_a_alpha) / a0)


@njit(cache=True, error_model="numpy")
def _biquad(f, band, value, rate, y, n):
    """One band in direct form I (a coefficient change mid-stream does not upset its state). A band
    at 0 dB (or a high-pass at 0 Hz) is skipped, its history kept as a pass-through would leave it."""
    h = F_HIST + 4 * band
    if value == 0.0:
        if n >= 2:
            f[h], f[h + 1], f[h + 2], f[h + 3] = y[n - 1], y[n - 2], y[n - 1], y[n - 2]
        elif n == 1:
            f[h + 1], f[h + 3] = f[h], f[h + 2]
            f[h], f[h + 2] = y[0], y[0]
        return
    c = F_COEF + 5 * band
    if f[F_CACHE + band] != value:
        f[c], f[c + 1], f[c + 2], f[c + 3], f[c + 4] = biquad_coefficients(band, value, rate)
        f[F_CACHE + band] = value
    b0, b1, b2, a1, a2 = f[c], f[c + 1], f[c + 2], f[c + 3], f[c + 4]
    x1, x2, y1, y2 = f[h], f[h + 1], f[h + 2], f[h + 3]
    for t in range(n):
        x0 = np.float64(y[t])
        out = b0 * x0 + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
        x2, x1, y2, y1 = x1, x0, y1, out
        y[t] = out
    f[h], f[h + 1], f[h + 2], f[h + 3] = x1, x2, y1, y2


@njit(cache=True, error_model="numpy")
def _finite(value, default):
    """A parameter as given, or `default` when it is NaN or infinite (the callback must not stop)."""
    return value if math.isfinite(value) else default


# --- noise gate ---------------------------------------------------------------------------------

@njit(cache=True, error_model="numpy")
def _gate(f, params, rate, x, y, n):
    """NAM's gate: a power detector on the model's input; while the level stays above threshold -
    hysteresis the gate holds open, once under it for the hold time it moves towards a reduction of
    ratio * (dB under the threshold)^2, closing at most at full range per release time and opening
    within GATE_OPEN_S. The reduction (dB) multiplies the model's output."""
    threshold = params[P_GATE_DB]
    if not threshold > GATE_OFF:  # off (NaN too)
        f[F_GATE_ON] = 0.0
        return
    if f[F_GATE_ON] == 0.0:  # switched on (or reset): open, detector at the floor
        f[F_GATE_ON], f[F_LEVEL], f[F_REDUCTION], f[F_GATE_STATE], f[F_HELD] = 1.0, 0.0, 0.0, HOLDING, 0.0
    threshold = min(threshold, 0.0)
    floor_power = 10.0 ** (GATE_FLOOR_DB / 10.0)
    alpha = 0.5 ** (1.0 / (GATE_LEVEL_S * rate))
    max_reduction = -GATE_RATIO * (GATE_FLOOR_DB - threshold) ** 2
    d_open = -max_reduction / (GATE_OPEN_S * rate)
    d_close = max_reduction / (max(_finite(params[P_GATE_RELEASE_MS], 50.0), 1.0) / 1000.0 * rate)
    hold = max(_finite(params[P_GATE_HOLD_MS], 0.0), 0.0) / 1000.0 * rate
    hysteresis = max(_finite(params[P_GATE_HYSTERESIS_DB], 0.0), 0.0)
    level, reduction, gate_state, held = max(f[F_LEVEL], floor_power), f[F_REDUCTION], f[F_GATE_STATE], f[F_HELD]
    for t in range(n):
        v = np.float64(x[t])
        level = min(max(alpha * level + (1.0 - alpha) * v * v, floor_power), 1000.0)
        level_db = 10.0 * math.log10(level)
        if gate_state == HOLDING:
            reduction = 0.0
            if level_db < threshold - hysteresis:
                held += 1.0
                if held >= hold:
                    gate_state = MOVING
            else:
                held = 0.0
        else:
            target = -GATE_RATIO * (level_db - threshold) ** 2 if level_db < threshold else 0.0
            if target > reduction:
                reduction += min(max(0.5 * (target - reduction), 0.0), d_open)
                if reduction >= 0.0:
                    reduction, gate_state, held = 0.0, HOLDING, 0.0
            elif target < reduction:
                reduction = max(reduction + min(max(0.5 * (target - reduction), d_close), 0.0), max_reduction)
        if reduction < 0.0:
            y[t] = y[t] * np.float32(10.0 ** (reduction / 20.0))
    f[F_LEVEL], f[F_REDUCTION], f[F_GATE_STATE], f[F_HELD] = level, reduction, gate_state, held


# --- cabinet IR ---------------------------------------------------------------------------------

@njit(cache=True)
def sum_stride(bins):
    """Where the sum's imaginary row starts after its real one: bins rounded up to the MAC's WIDTH."""
    return -(-bins // WIDTH) * WIDTH


@njit(cache=True, error_model="numpy")
def _multiply_add(s, acc, fre0, fim0, w, hre0, him0, tail, bins, pos):
    """s[acc: acc + 2 stride] += the sum over IR partitions k of the spectrum of input partition k
    blocks back (row pos - k of the ring at fre0 / fim0) times IR partition k + 1's (w at hre0 /
    him0): most of the IR's cost, as it runs for every IR partition. WIDTH bins at a time with the
    sums in registers (engine/kernels/cmac.py), in two runs as the ring wraps. All float32 (float64
    sums of float32 terms made the chain's IR 1.6x slower). The bins past `bins` in the last WIDTH
    read the next row (or build's padding) into sums nobody reads."""
    stride = sum_stride(bins)
    for j in range(0, bins, WIDTH):  # rows pos, pos-1 .. 0 meet partitions 0 .. pos; rows tail-1 .. pos+1 the rest
        complex_multiply_add(s, acc + j, acc + stride + j, s, fre0 + pos * bins + j, fim0 + pos * bins + j, -bins,
                             w, hre0 + j, him0 + j, bins, pos + 1)
        last = (tail - 1) * bins + j
        complex_multiply_add(s, acc + j, acc + stride + j, s, fre0 + last, fim0 + last, -bins,
                             w, hre0 + (pos + 1) * bins + j, him0 + (pos + 1) * bins + j, bins, tail - pos - 1)


@njit(cache=True, error_model="numpy")
def _partition_done(layout, w, s, f):
    """An input partition is complete: transform the last two partitions of input, and sum every
    IR partition's spectrum times the input spectrum it meets into the next partition's tail."""
    p, tail = layout[L_PART], layout[L_TAIL]
    bins = p + 1
    xin = s[layout[L_S_XIN]:layout[L_S_XIN] + 2 * p]
    if tail > 0:
        work = layout[L_F_WORK]
        wre, wim, real = f[work:work + p], f[work + p:work + 2 * p], f[work + 2 * p:work + 4 * p]
        acc = layout[L_S_ACC]
        stride = sum_stride(bins)
        sums = s[acc:acc + 2 * stride]
        acc_re, acc_im = sums[:bins], sums[stride:stride + bins]
        cos_t = w[layout[L_W_COS]:layout[L_W_SIN]]
        sin_t = w[layout[L_W_SIN]:layout[L_W_RCOS]]
        rcos = w[layout[L_W_RCOS]:layout[L_W_RSIN]]
        rsin = w[layout[L_W_RSIN]:layout[L_W_RSIN] + bins]
        bitrev = layout[L_BITREV:L_BITREV + p]
        for j in range(2 * p):
            real[j] = xin[j]
        pos = (int(f[F_POS]) + 1) % tail
        f[F_POS] = pos
        fre = s[layout[L_S_FRE]:layout[L_S_FRE] + tail * bins]
        fim = s[layout[L_S_FIM]:layout[L_S_FIM] + tail * bins]
        fft.rfft(real, fre[pos * bins:(pos + 1) * bins], fim[pos * bins:(pos + 1) * bins], wre, wim, cos_t, sin_t,
                 rcos, rsin, bitrev)
        sums[:] = 0.0
        _multiply_add(s, acc, layout[L_S_FRE], layout[L_S_FIM], w, layout[L_W_HRE], layout[L_W_HIM], tail, bins, pos)
        fft.irfft_scaled(acc_re, acc_im, real, wre, wim, cos_t, sin_t, rcos, rsin, bitrev)
        out = s[layout[L_S_TAIL]:layout[L_S_TAIL] + p]
        for j in range(p):
            out[j] = real[p + j]
    for j in range(p):
        xin[j] = xin[p + j]


@njit(cache=True, error_model="numpy")
def _convolve(layout, w, s, f, y, n):
    p, taps = layout[L_PART], layout[L_HEAD]
    head = w[layout[L_W_HEAD]:layout[L_W_HEAD] + p]
    xin = s[layout[L_S_XIN]:layout[L_S_XIN] + 2 * p]
    tail = s[layout[L_S_TAIL]:layout[L_S_TAIL] + p]
    work = layout[L_F_WORK]
    sums = f[work + 4 * p:work + 5 * p]
    phase = int(f[F_PHASE])
    t = 0
    while t < n:
        c = min(n - t, p - phase)
        base = p + phase
        for i in range(c):
            xin[base + i] = y[t + i]
            sums[i] = tail[phase + i]
        for m in range(taps):  # direct-form head: the output needs no future input
            hm = np.float64(head[m])
            seg = xin[base - m:base - m + c]
            for i in range(c):
                sums[i] += hm * seg[i]
        for i in range(c):
            y[t + i] = sums[i]
        phase += c
        t += c
        if phase == p:
            _partition_done(layout, w, s, f)
            phase = 0
    f[F_PHASE] = phase


@njit(cache=True, error_model="numpy")
def process(layout, weights, state, fstate, params, x, y):
    """y (the model's output for input x) through gate, tone stack, IR and high-pass, in place."""
    n = y.shape[0]
    rate = np.float64(layout[L_RATE])
    _gate(fstate, params, rate, x, y, n)
    for band in range(3):
        _biquad(fstate, band, min(max(_finite(params[P_BASS + band], 0.0), -30.0), 30.0), rate, y, n)
    if layout[L_HEAD] > 0:
        _convolve(layout, weights, state, fstate, y, n)
    # np.int64: a literal constant argument would make numba compile _biquad a second time
    _biquad(fstate, np.int64(HIGHPASS), max(_finite(params[P_HIGHPASS_HZ], 0.0), 0.0), rate, y, n)

