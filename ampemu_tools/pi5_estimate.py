"""An ESTIMATE of the Raspberry Pi 5's real-time factor from a bench run on another machine.

Method (docs/benchmarks.md): each numba row's measured arithmetic throughput (MACs per sample counted
from the architecture, ampemu_tools/bench_models.py, times samples per second processed) is taken as a
fixed share of the measuring CPU's peak fp32 multiply-accumulate rate (`peak_share`, in every row, so
the method can be checked), and the same share of a Cortex-A76's peak is assumed on the Pi 5:
- Cortex-A76 at 2.4 GHz: two 128-bit NEON FMA pipes = 8 fp32 MACs per cycle = 19.2 GMAC/s peak;
- x86: two FMA pipes of the width the kernels use (benchmarking.SIMD_MACS_PER_CYCLE: 16 MACs per cycle
  with AVX2, 32 with AVX-512) at the clock the machine reports (a VM's nominal clock; boost is not
  visible); a report without the `simd` field (older ones) is taken as AVX2.
So Pi RTF ~= x86 RTF x (x86 MACs/cycle x x86 GHz) / (8 x 2.4). Only the compiled numba rows are scaled (Python
backends' overheads do not scale with vector width). Assumes the Pi is cool (no throttling), uses
the performance governor and one core, and that L2 (512 KiB per A76 core) holds the model, which
every built-in does. The real figure comes from `ampemu bench --json` on a Pi 5.
"""

from __future__ import annotations

from ampemu_tools.benchmarking import RATES, SIMD_MACS_PER_CYCLE, verdict

A76_GHZ = 2.4
A76_MACS_PER_CYCLE = SIMD_MACS_PER_CYCLE["neon"]


def scale_factor(system: dict) -> float | None:
    """Pi 5 time / this machine's time for the same work, or None if the clock is unknown or not x86."""
    if system.get("machine") not in ("x86_64", "AMD64") or not system.get("core_mhz"):
        return None
    return x86_peak_gmacs(system) / (A76_MACS_PER_CYCLE * A76_GHZ)


def x86_peak_gmacs(system: dict) -> float:
    return SIMD_MACS_PER_CYCLE.get(system.get("simd") or "avx2", SIMD_MACS_PER_CYCLE["avx2"]) * system["core_mhz"] / 1000


def estimate(report: dict) -> list[dict]:
    """One estimated row per numba row of a bench report (empty if the report cannot be scaled)."""
    factor = scale_factor(report["system"])
    macs = {m["name"]: m["macs_per_sample"] for m in report["models"]}
    rows = []
    for r in report["rows"]:
        if factor is None or not r["backend"].startswith("numba") or not macs.get(r["model"]):
            continue
        # p99 from the clock the report judged by (CPU time on a shared machine: the Pi will be dedicated)
        p99 = r["rtf_p99_cpu"] if r.get("verdict_clock") == "cpu" else r["rtf_p99"]
        rtf, rtf_p99 = r["rtf_median"] * factor, p99 * factor
        load_48k = rtf_p99 * max(RATES) / r["sample_rate"]
        gmacs = macs[r["model"]] * r["sample_rate"] / r["rtf_median"] / 1e9
        rows.append({"model": r["model"], "backend": r["backend"], "block": r["block"], "x86_gmacs": round(gmacs, 2),
                     "peak_share": round(gmacs / x86_peak_gmacs(report["system"]), 3),
                     "pi5_rtf_median": round(rtf, 4), "pi5_rtf_p99": round(rtf_p99, 4),
                     "pi5_headroom_48000": round(1 - load_48k, 3), "pi5_verdict": verdict(load_48k)})
    return rows


def markdown(report: dict) -> str:
    rows = estimate(report)
    if not rows:
        return "Pi 5 estimate: not available (needs an x86 report with a known clock and numba rows)"
    lines = [f"Pi 5 ESTIMATE (Cortex-A76 2.4 GHz, scaled by {scale_factor(report['system']):.2f} from this machine; "
             "not a measurement: it assumes the A76 reaches the same share of its peak)", "",
             "| model | backend | block | x86 GMAC/s | share of peak | est. Pi 5 RTF median | est. RTF p99 | "
             "est. headroom 48k | est. verdict |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    lines += [f"| {r['model']} | {r['backend']} | {r['block']} | {r['x86_gmacs']:.2f} | {100 * r['peak_share']:.0f} % | "
              f"{r['pi5_rtf_median']:.4f} | {r['pi5_rtf_p99']:.4f} | {100 * r['pi5_headroom_48000']:.0f} % | "
              f"{r['pi5_verdict']} |" for r in rows]
    return "\n".join(lines)
