"""Is a take good enough to train on? Every reason to refuse it, one phrase each, and its levels.

A take is refused when JACK lost audio (xruns, skipped cycles), when the return clips or is too
quiet, when the return fell to digital silence while the device was being played (an interface or
cable dropout: a real converter never returns exact zeros for long), or when the calibration clicks
came back at different delays (audio was lost or repeated between two clicks, which would
misalign everything after it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CLIP_LEVEL = 0.999
QUIET_PEAK_DB = -40.0  # a load box or mic'd cab returns -30 dBFS RMS or more; below -40 dBFS peak is a wrong gain
DROPOUT_FRAMES = 32  # exact zeros in a row on the return ...
LOUD_DB = -40.0  # ... while the signal sent at the same time peaks above this
CLICK_TOLERANCE = 1  # frames the clicks' delays may differ by (a static device answers identical clicks identically)


@dataclass
class TakeReport:
    problems: list[str]
    levels: dict
    click_lags: list[int | None]  # each click's answer: frames after the click (None: nothing came back)


def _db(value: float) -> float:
    return round(20.0 * np.log10(max(float(value), 1e-12)), 2)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def _at(frame: int, rate: int) -> str:
    return f"{frame / rate:.2f} s"


def zero_runs(x: np.ndarray, min_length: int) -> list[tuple[int, int]]:
    """(start, stop) of every run of at least `min_length` exact zeros in `x`."""
    zero = np.concatenate([[False], x == 0.0, [False]])
    edges = np.flatnonzero(np.diff(zero.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2]) if b - a >= min_length]


def click_lags(returned: np.ndarray, clicks: list[int], window: int, floor_rms: float) -> list[int | None]:
    """Each click's answer, in frames after the click: the first audible one by its peak, the others by
    cross-correlation with the first (so a complex answer, an amp's ring, is compared whole)."""
    threshold = max(10.0 * floor_rms, 1e-4)
    segments = [returned[max(p - window, 0):p + window] for p in clicks]
    lags: list[int | None] = [None] * len(clicks)
    reference = None
    for k, segment in enumerate(segments):
        if segment.size < 2 * window or np.abs(segment).max() < threshold:
            continue  # no answer above the noise (or the click sits at the edge)
        if reference is None:
            reference, reference_lag = segment.astype(np.float64), int(np.argmax(np.abs(segment))) - window
            lags[k] = reference_lag
            continue
        size = 4 * window
        corr = np.fft.irfft(np.fft.rfft(segment, size) * np.conj(np.fft.rfft(reference, size)), size)
        shift = int(np.argmax(np.abs(corr)))
        lags[k] = reference_lag + (shift if shift < size // 2 else shift - size)
    return lags


def check_take(sent: np.ndarray, returned: np.ndarray, rate: int, clicks: list[int], click_window: int,
               floor: slice, xruns_at: list[int], skipped_cycles: int, skipped_frames: int,
               first_skip_at: int) -> TakeReport:
    """`returned` is the take with the rig's latency removed (returned[t] answers sent[t])."""
    problems = []
    if xruns_at:
        problems.append(f"JACK reported {len(xruns_at)} xrun(s) during the take (first at {_at(xruns_at[0], rate)}): "
                        "audio was lost; take again with a larger period (jackd -p 256) and nothing else running")
    if skipped_cycles:
        problems.append(f"JACK skipped the capture client in {skipped_cycles} cycle(s) ({skipped_frames} frames, "
                        f"first at {_at(first_skip_at, rate)}): audio was lost; take again with a larger period")
    clipped = np.flatnonzero(np.abs(returned) >= CLIP_LEVEL)
    if clipped.size:
        problems.append(f"the return clips ({clipped.size} samples at full scale, first at {_at(clipped[0], rate)}): "
                        "lower the device's output or the interface's input gain")
    peak = float(np.max(np.abs(returned))) if returned.size else 0.0
    if _db(peak) < QUIET_PEAK_DB:
        problems.append(f"the return is too quiet (peak {_db(peak):.1f} dBFS, under {QUIET_PEAK_DB:.0f}): is the "
                        "device on and connected? raise its output or the interface's input gain")
    else:
        loud = 10 ** (LOUD_DB / 20)
        dropouts = [(a, b) for a, b in zero_runs(returned, DROPOUT_FRAMES) if np.abs(sent[a:b]).max(initial=0.0) > loud]
        if dropouts:
            a, b = dropouts[0]
            problems.append(f"the return dropped out {len(dropouts)} time(s) while the device was played (first at "
                            f"{_at(a, rate)}: {b - a} frames of digital silence): check the cables and the "
                            "interface, then take again")
    floor_rms = _rms(returned[floor])
    lags = click_lags(returned, clicks, click_window, floor_rms)
    found = [(p, lag) for p, lag in zip(clicks, lags) if lag is not None]
    if found and max(lag for _, lag in found) - min(lag for _, lag in found) > CLICK_TOLERANCE:
        described = ", ".join(f"{lag} at {_at(p, rate)}" for p, lag in found)
        problems.append(f"the calibration clicks came back at different delays (frames: {described}): audio was "
                        "lost or repeated between them; take again")
    content = np.abs(sent) > 0
    levels = {"send_peak_dbfs": _db(np.max(np.abs(sent))), "send_rms_dbfs": _db(_rms(sent[content])),
              "return_peak_dbfs": _db(peak), "return_rms_dbfs": _db(_rms(returned[content])),
              "return_noise_floor_dbfs": _db(floor_rms)}
    return TakeReport(problems, levels, lags)
