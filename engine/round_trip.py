"""Round trips measured with clicks: a click train to send and the lag at which it comes back.

Numpy only: `ampemu capture --calibrate` runs it on the Pi, `ampemu latency` (ampemu_tools) too.
"""

from __future__ import annotations

import numpy as np

MAX_LATENCY_S = 0.5  # a longer round trip is not a loop worth playing through (and bounds the search)


def click_train(clicks: int, spacing: int, lead: int, level: float) -> np.ndarray:
    """Single-sample clicks `spacing` frames apart after `lead` frames of silence."""
    signal = np.zeros(lead + clicks * spacing, np.float32)
    signal[lead::spacing] = level
    return signal


def find_delay(sent: np.ndarray, received: np.ndarray, max_lag: int) -> tuple[int, float]:
    """Lag (frames, 0..max_lag) where `received` best matches `sent`, and the match's strength
    (normalised cross-correlation at that lag: 1 is a perfect copy, polarity ignored)."""
    size = 1 << int(np.ceil(np.log2(received.size + sent.size)))  # no wrap-around for lags >= 0
    spectrum = np.fft.rfft(received.astype(np.float64), size) * np.conj(np.fft.rfft(sent.astype(np.float64), size))
    window = np.abs(np.fft.irfft(spectrum, size)[:max_lag + 1])  # index = lag
    lag = int(np.argmax(window))
    segment = received[lag:lag + sent.size].astype(np.float64)
    norm = np.linalg.norm(sent) * np.linalg.norm(segment)
    return lag, float(window[lag] / norm) if norm > 0 else 0.0
