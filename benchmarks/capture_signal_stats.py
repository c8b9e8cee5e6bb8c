"""How the capture signal compares with real guitar DI: the statistics docs/capture.md quotes, and a figure.

For the capture signal (3 minutes at 48 kHz), the shared clean DI performance (`*-clean180` input) and
the other-playing take (`*-muted30` input, looked at, never trained on), prints per file and per
section of the signal: RMS and the percentiles of 50 ms RMS, the time spent silent (50 ms frames
under -60 dBFS), the spectral centroid and the energy per octave band, the share of samples above a
fraction of the peak, the waveform's asymmetry (median skewness of loud 50 ms frames) and crest factor (their peak over RMS), note onsets
per second and the decay after them. With --plot, writes the level distributions and spectra as a PNG.

    .venv/bin/python benchmarks/capture_signal_stats.py [--plot docs/capture-signal-vs-di.png]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import welch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.capture.signal import capture_signal, layout  # noqa: E402

DATASETS = REPO.parent / "shared" / "datasets"
RATE = 48000
BANDS = ((0, 100), (100, 200), (200, 400), (400, 800), (800, 1600), (1600, 3200), (3200, 6400), (6400, 24000))


def db(x):
    return 20 * np.log10(np.maximum(x, 1e-12))


def frames(x: np.ndarray, n: int) -> np.ndarray:
    return x[:x.size // n * n].reshape(-1, n)


def onsets(x: np.ndarray) -> np.ndarray:
    """5 ms envelope frames where the level rises 6 dB within 15 ms to above -45 dBFS (50 ms apart)."""
    env = db(np.sqrt((frames(x, RATE // 200) ** 2).mean(1)))
    candidates = np.flatnonzero((env[3:] - env[:-3] > 6) & (env[3:] > -45)) + 3
    found: list[int] = []
    for c in candidates:
        if not found or c - found[-1] > 10:
            found.append(int(c))
    return np.array(found, int)


def statistics(x: np.ndarray) -> dict:
    rms50 = np.sqrt((frames(x, RATE // 20) ** 2).mean(1))
    f, power = welch(x, RATE, nperseg=8192)
    loud = frames(x, RATE // 20)[db(rms50) > -45]
    centred = loud - loud.mean(1, keepdims=True)
    skew = (centred ** 3).mean(1) / np.maximum(centred.std(1), 1e-12) ** 3
    crest = db(np.abs(loud).max(1) / np.maximum(np.sqrt((loud ** 2).mean(1)), 1e-12))
    env = db(np.sqrt((frames(x, RATE // 200) ** 2).mean(1)))
    decays = []  # dB/s from 50 to 300 ms after each onset
    for c in onsets(x):
        seg = env[c + 10:c + 60]
        if seg.size == 50 and seg.min() > -80:
            decays.append(np.polyfit(np.arange(50) / 200, seg, 1)[0])
    peak = np.max(np.abs(x))
    return {
        "rms_db": db(np.sqrt(np.mean(x ** 2))),
        "rms50_pct_10_25_50_75_90": np.percentile(db(rms50), [10, 25, 50, 75, 90]),
        "silent": float(np.mean(db(rms50) < -60)),
        "centroid_hz": float(np.sum(f * power) / np.sum(power)),
        "bands_pct": [100 * power[(f >= a) & (f < b)].sum() / power.sum() for a, b in BANDS],
        "above_peak_frac_pct": [100 * np.mean(np.abs(x) > t * peak) for t in (0.5, 0.25, 0.1)],
        "skew_median": float(np.median(skew)) if skew.size else 0.0,
        "abs_skew_median": float(np.median(np.abs(skew))) if skew.size else 0.0,
        "crest_db_50_90_99": np.percentile(crest, [50, 90, 99]) if crest.size else np.zeros(3),
        "onsets_per_s": onsets(x).size / (x.size / RATE),
        "decay_db_s_25_50_75": np.percentile(decays, [25, 50, 75]) if decays else np.zeros(3),
        "spectrum": (f, power), "rms50": db(rms50),
    }


def show(name: str, s: dict) -> None:
    r = s["rms50_pct_10_25_50_75_90"]
    d = s["decay_db_s_25_50_75"]
    print(f"{name:16s} RMS {s['rms_db']:6.1f}  50ms RMS p10/25/50/75/90 {r[0]:4.0f}/{r[1]:.0f}/{r[2]:.0f}/{r[3]:.0f}/{r[4]:.0f}"
          f"  silent {100 * s['silent']:3.0f} %  centroid {s['centroid_hz']:5.0f} Hz  skew {s['skew_median']:+.2f}"
          f" (|{s['abs_skew_median']:.2f}|)  onsets {s['onsets_per_s']:.1f}/s  decay {d[0]:.0f}/{d[1]:.0f}/{d[2]:.0f} dB/s")
    print(f"{'':16s} octave bands (%) {' '.join(f'{b:4.1f}' for b in s['bands_pct'])}"
          f"  |x| > 0.5/0.25/0.1 peak {' '.join(f'{p:.2f}' for p in s['above_peak_frac_pct'])} %"
          f"  crest p50/90/99 {'/'.join(f'{c:.1f}' for c in s['crest_db_50_90_99'])} dB")


def plot(path: Path, named: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.5))
    bins = np.arange(-90, -5, 2.0)
    for name, s in named.items():
        a.hist(s["rms50"], bins=bins, density=True, histtype="step", lw=1.5, label=name)
        f, power = s["spectrum"]
        keep = (f >= 40) & (f <= 16000)
        b.semilogx(f[keep], 10 * np.log10(power[keep] / power.sum()), lw=1.2, label=name)
    a.set(xlabel="50 ms RMS (dBFS); frames under -90 dBFS not shown", ylabel="share of frames", title="Level distribution")
    b.set(xlabel="Hz", ylabel="dB (each file's total power = 0 dB)", title="Long-term spectrum (Welch, 8192)")
    for ax in (a, b):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    print(f"wrote {path}")


def read(folder: str) -> np.ndarray:
    base = DATASETS / folder
    path = base / "input.wav" if (base / "input.wav").exists() else base / "input.flac"
    return sf.read(str(path), dtype="float64")[0]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--plot", type=Path, default=None, help="write the level distributions and spectra here (PNG)")
    args = p.parse_args()
    signal = capture_signal(180.0, RATE).astype(np.float64)
    named = {"capture signal": statistics(signal), "clean DI take": statistics(read("fuzzface-clean180_48k")),
             "other playing": statistics(read("fuzzface-muted30_48k"))}
    for name, s in named.items():
        show(name, s)
    for section in layout(180.0, RATE)[0]:
        if section.name not in ("silence", "tail"):
            show(f"  {section.name}", statistics(signal[section.start:section.start + section.length]))
    if args.plot:
        plot(args.plot, named)
    return 0


if __name__ == "__main__":
    sys.exit(main())
