"""Test a model on a capture: metrics (numpy) and the PNG plots a user reads at a glance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

PLOT_SECONDS = 0.05  # the waveform close-up: a few periods of a low note


def pre_emphasised(y: np.ndarray, coefficient: float = 0.95) -> np.ndarray:
    return y[1:] - coefficient * y[:-1]


def esr(pred: np.ndarray, target: np.ndarray) -> float:
    target = target.astype(np.float64)
    return float(np.sum((target - pred) ** 2) / max(np.sum(target ** 2), 1e-20))


def metrics(pred: np.ndarray, target: np.ndarray, coefficient: float = 0.95) -> dict:
    err = target.astype(np.float64) - pred
    return {
        "esr": esr(pred, target),
        "esr_pre_emphasis": esr(pre_emphasised(pred, coefficient), pre_emphasised(target, coefficient)),
        "pre_emphasis": coefficient,
        "snr_db": float(10 * np.log10(max(np.sum(target.astype(np.float64) ** 2), 1e-20) / max(np.sum(err ** 2), 1e-20))),
        "max_abs_error": float(np.max(np.abs(err))),
        "samples": int(target.size),
    }


def _loudest_window(target: np.ndarray, length: int) -> int:
    """Start of the loudest `length`-sample stretch: the close-up shows playing, not a rest."""
    if target.size <= length:
        return 0
    energy = np.convolve(target.astype(np.float64) ** 2, np.ones(length), mode="valid")
    return int(np.argmax(energy[::max(1, length // 4)]) * max(1, length // 4))


def _finish(ax, legend_at: str) -> None:
    ax.legend(loc=legend_at)
    ax.grid(alpha=0.3, which="both")


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def plot(pred: np.ndarray, target: np.ndarray, rate: int, out_dir: Path, title: str) -> list[Path]:
    """waveform.png, error.png, error_spectrogram.png, spectra.png in out_dir."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy import signal

    err = target - pred
    t = np.arange(target.size) / rate
    m = metrics(pred, target)
    paths = []

    n = int(PLOT_SECONDS * rate)
    s = _loudest_window(target, n)
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(1000 * t[s:s + n], target[s:s + n], label="target (device)", lw=1.6)
    ax.plot(1000 * t[s:s + n], pred[s:s + n], label="prediction (model)", lw=1.0, ls="--")
    ax.set(xlabel="time (ms)", ylabel="amplitude", title=f"{title}: target vs prediction, ESR {100 * m['esr']:.2f} %")
    _finish(ax, "upper right")
    paths.append(_save(fig, out_dir / "waveform.png"))

    fig, ax = plt.subplots(figsize=(10, 4))
    ax.plot(t, target, label="target", lw=0.5, color="0.7")
    ax.plot(t, err, label="error (target - prediction)", lw=0.5, color="C3")
    ax.set(xlabel="time (s)", ylabel="amplitude",
           title=f"{title}: error over the test split (SNR {m['snr_db']:.1f} dB, max {m['max_abs_error']:.3f})")
    _finish(ax, "upper right")
    paths.append(_save(fig, out_dir / "error.png"))

    fig, ax = plt.subplots(figsize=(10, 4))
    f, tt, sxx = signal.spectrogram(err, fs=rate, nperseg=2048, noverlap=1024)
    mesh = ax.pcolormesh(tt, f, 10 * np.log10(sxx + 1e-14), shading="auto", cmap="magma", vmin=-140)
    ax.set(xlabel="time (s)", ylabel="frequency (Hz)", yscale="symlog", ylim=(20, rate / 2),
           title=f"{title}: error spectrogram")
    fig.colorbar(mesh, ax=ax, label="dB")
    paths.append(_save(fig, out_dir / "error_spectrogram.png"))

    fig, ax = plt.subplots(figsize=(10, 4))
    for sig, label in ((target, "target (device)"), (pred, "prediction (model)"), (err, "error")):
        f, pxx = signal.welch(sig, fs=rate, nperseg=8192)
        ax.semilogx(f[1:], 10 * np.log10(pxx[1:] + 1e-20), label=label, lw=1.0)
    ax.set(xlabel="frequency (Hz)", ylabel="power (dB/Hz)", xlim=(20, rate / 2),
           title=f"{title}: magnitude spectra")
    _finish(ax, "lower left")
    paths.append(_save(fig, out_dir / "spectra.png"))
    return paths


def write_metrics(values: dict, path: Path) -> Path:
    path.write_text(json.dumps(values, indent=2) + "\n")
    return path
