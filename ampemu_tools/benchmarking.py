"""Measure real-time factor per block the way a live host calls a model, and judge whether it fits.

Every block call is timed on its own, in wall time (CLOCK_MONOTONIC) and in this thread's CPU time: a
period is missed by the slowest blocks, not the average, so a row reports the median and the 99th
percentile. On a dedicated machine (the Pi) the wall p99 is the truth; on a machine shared with other
work, the wall p99 also counts the time others held the core, and the CPU p99 is the code's own. The numba backends are
timed inside compiled code (libc `clock_gettime`, ~25 ns a read), as the JACK callback calls
them, with no Python call per block; the Python backends (onnxruntime, torch, the numpy reference)
are timed around their Python call, which is what a Python callback would pay.

Definitions (docs/benchmarks.md):
- RTF = block time / block duration at the model's own sample rate.
- load at rate R = p99 block time / (block / R); headroom = 1 - load (a share of the period).
- verdict, from the load at 48 kHz (the worse of the two rates), wall p99 by default (`--clock cpu`:
  CPU p99, for shared machines): `fits` below FITS_LOAD (half the
  period left for JACK, other clients and the OS: the usual 2x safety margin), `tight` below
  TOO_SLOW_LOAD (works on a quiet, cool machine; expect xruns under load or throttling), else
  `too slow`.
"""

from __future__ import annotations

import importlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Callable

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from ampemu_tools.bench_models import Target
from engine import families
from engine.errors import AmpemuError
from engine.kernels import resample
from engine.kernels.chain import process as chain_process
from engine.kernels.dispatch import process_block

RATES = (44100, 48000)
FITS_LOAD = 0.5
TOO_SLOW_LOAD = 0.8
DEFAULT_BLOCKS = (16, 32, 64, 128, 256)
BACKENDS = ("numba-exact", "numba-fast", "onnxruntime", "torch", "numpy-reference")
WARMUP_SECONDS = 0.05
CLOCKS = ("wall", "cpu")
_CLOCK_MONOTONIC, _CLOCK_THREAD_CPUTIME_ID = 1, 3  # Linux, every architecture

class Unavailable(Exception):
    """A backend that cannot run this target here (missing package, unsupported family): the row is skipped."""


def verdict(load: float) -> str:
    if load < FITS_LOAD:
        return "fits"
    if load < TOO_SLOW_LOAD:
        return "tight"
    return "too slow"


# --- timing loops ---------------------------------------------------------------------------------

def _clock_intrinsic(clock_id: int):
    """clock_gettime(clock_id) in nanoseconds, callable from compiled code.

    Declared by symbol name, so callers cache like any other function; needs 64-bit Linux (Pi OS 64-bit)."""
    def codegen(context, builder, sig, args):
        i32, i64 = ir.IntType(32), ir.IntType(64)
        timespec = ir.ArrayType(i64, 2)  # struct timespec {time_t tv_sec; long tv_nsec} on LP64
        ts = cgutils.alloca_once(builder, timespec)
        clock_gettime = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(i32, [i32, timespec.as_pointer()]), "clock_gettime")
        builder.call(clock_gettime, [ir.Constant(i32, clock_id), ts])
        seconds = builder.load(cgutils.gep(builder, ts, 0, 0))
        nanoseconds = builder.load(cgutils.gep(builder, ts, 0, 1))
        return builder.add(builder.mul(seconds, ir.Constant(i64, 1_000_000_000)), nanoseconds)
    return intrinsic(lambda typingctx: (types.int64(), codegen))


_wall_ns = _clock_intrinsic(_CLOCK_MONOTONIC)  # vDSO: ~25 ns a read
_cpu_ns = _clock_intrinsic(_CLOCK_THREAD_CPUTIME_ID)  # this thread's CPU time: a system call, ~0.5 us


def _timed_python_blocks(process: Callable, x, y, block, times, budget_ns) -> int:
    wall, cpu = time.perf_counter_ns, time.thread_time_ns
    start = wall()
    for b in range(times.shape[1]):
        xb, yb = x[b * block:(b + 1) * block], y[b * block:(b + 1) * block]
        c0 = cpu()
        t0 = wall()
        process(xb, yb)
        t1 = wall()
        times[1, b] = cpu() - c0
        times[0, b] = t1 - t0
        if t1 - start > budget_ns:
            return b + 1
    return times.shape[1]


# --- backends: each makes a Runner for a target, or raises Unavailable --------------------------------

@dataclass
class Runner:
    """reset() then timed(x, y, block, times (2, blocks) int64: wall and CPU ns, budget_ns) -> blocks measured."""

    reset: Callable[[], None]
    timed: Callable
    process: Callable  # one block through the backend (for warming up and for benchmarks/)


def _numba_runner(target: Target, fast: bool, workdir: Path) -> Runner:
    from engine.models import check_finite

    family = families.by_name(target.family)
    if family.backend != "numba":
        raise Unavailable(f"an {family.suffix} file plays on {family.backend} only")
    try:
        model = family.load(target.model, fast, "", None)
    except families.BeyondLimits as exc:
        raise AmpemuError(f"{target.source}: {exc}") from None
    if target.source != "built-in":
        check_finite(model, target.source)  # a file the engine would refuse to play is not timed either
    arrays = (model.layout, model.weights, model.state, model.cursor)

    def timed(x, y, block, times, budget_ns):  # the model's own family only: nothing else compiles
        return model.kernels.timed_blocks(*arrays, x, y, block, times, budget_ns)
    timed(np.zeros(1, np.float32), np.zeros(1, np.float32), 1, np.zeros((2, 1), np.int64), 0)  # compile or load now
    return Runner(model.reset, timed, model.process)


def python_runner(model) -> Runner:
    def timed(x, y, block, times, budget_ns):
        return _timed_python_blocks(model.process, x, y, block, times, budget_ns)
    return Runner(model.reset, timed, model.process)


def _onnx_runner(target: Target, workdir: Path) -> Runner:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise Unavailable("onnxruntime is not installed") from None
    from engine.onnx_backend import load_onnx_model

    if target.family == "onnx":
        return python_runner(target.model)
    _load_plugins()
    if ONNX_EXPORTER is None:
        raise Unavailable("exporting to ONNX needs the train extra (torch, onnx)")
    return python_runner(load_onnx_model(ONNX_EXPORTER(target, workdir)))


class _ReferenceStreaming:
    """ampemu_tools/reference.py's whole-signal forward used as a player: each block is computed with the
    receptive field of past input in front of it (exact, and the cost of having no streaming state)."""

    def __init__(self, weights):
        from ampemu_tools.reference import gated_wavenet_forward

        self.forward, self.weights = gated_wavenet_forward, weights
        self.history = weights.receptive_field - 1
        self.reset()

    def reset(self):
        self.past = np.zeros(self.history, np.float32)

    def process(self, x, y):
        signal = np.concatenate([self.past, x])
        y[:] = self.forward(self.weights, signal)[self.history:]
        self.past = signal[signal.size - self.history:]
        return y


def _one_blas_thread() -> None:
    """numpy's OpenBLAS spreads each small matmul over every core, which on a busy machine is ~10x
    slower than one thread; set it to one thread like every other backend (best effort: OpenBLAS
    builds export the setter under these names; other BLAS libraries are left alone)."""
    import ctypes

    libraries = {line.split()[-1] for line in (_read("/proc/self/maps") or "").splitlines() if "openblas" in line.lower()}
    for path in libraries:
        lib = ctypes.CDLL(path)
        for name in ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                     "openblas_set_num_threads64_", "openblas_set_num_threads"):
            if hasattr(lib, name):
                getattr(lib, name)(1)
                break


def _reference_runner(target: Target, workdir: Path) -> Runner:
    if target.family != "gated_wavenet":
        raise Unavailable("the numpy reference is the gated WaveNet's (.json)")
    _one_blas_thread()
    return python_runner(_ReferenceStreaming(target.model))


BACKEND_FACTORIES = {
    "numba-exact": lambda t, d: _numba_runner(t, False, d),
    "numba-fast": lambda t, d: _numba_runner(t, True, d),
    "onnxruntime": _onnx_runner,
    "numpy-reference": _reference_runner,
}
# Rows backed by training's code (torch, the ONNX export) live there and register themselves when
# the module below is imported: register_backend("torch", ...), register_onnx_exporter(...).
PLUGINS = ("training.bench_backends",)
ONNX_EXPORTER: Callable[[Target, Path], Path] | None = None  # writes an .onnx of a target, returns its path


def register_backend(name: str, factory: Callable[[Target, Path], Runner]) -> None:
    BACKEND_FACTORIES[name] = factory


def register_onnx_exporter(export: Callable[[Target, Path], Path]) -> None:
    global ONNX_EXPORTER
    ONNX_EXPORTER = export


def _load_plugins() -> None:
    for module in PLUGINS:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is None or exc.name.split(".")[0] != module.split(".")[0]:
                raise  # a plugin that is there but broken


def backend_factory(name: str) -> Callable[[Target, Path], Runner]:
    """The Runner factory of backend `name`; one whose code is absent here raises Unavailable."""
    if name not in BACKEND_FACTORIES:
        _load_plugins()
    if name not in BACKEND_FACTORIES:
        raise Unavailable("needs the train extra (training/ and torch)")
    return BACKEND_FACTORIES[name]


# --- one row --------------------------------------------------------------------------------------

def bench_signal(seconds: float, rate: int) -> np.ndarray:
    """Guitar-level noise (every sample non-trivial; weights and input do not change the work)."""
    rng = np.random.default_rng(1)
    return (0.3 * rng.standard_normal(max(1, int(seconds * rate)))).astype(np.float32)


def summarize(times_ns: np.ndarray, block: int, sample_rate: int, clock: str = "wall") -> dict:
    """Per-block times (2, n): wall and CPU ns -> RTF median/p99 of each, and headroom at each rate and
    the verdict from `clock`'s p99 ("cpu" leaves out the time other processes took the core from us)."""
    seconds = times_ns.astype(np.float64) * 1e-9
    (median, median_cpu), (p99, p99_cpu) = np.median(seconds, axis=1), np.percentile(seconds, 99, axis=1)
    row = {"blocks_timed": int(times_ns.shape[1]), "block_us_median": round(median * 1e6, 3),
           "block_us_p99": round(p99 * 1e6, 3), "block_us_p99_cpu": round(p99_cpu * 1e6, 3)}
    for name, value in (("rtf_median", median), ("rtf_p99", p99), ("rtf_median_cpu", median_cpu),
                        ("rtf_p99_cpu", p99_cpu)):
        row[name] = round(value * sample_rate / block, 5)
    judged = p99 if clock == "wall" else p99_cpu
    for rate in RATES:
        row[f"headroom_{rate}"] = round(1.0 - judged * rate / block, 4)
    row["verdict"] = verdict(judged * max(RATES) / block)
    row["verdict_clock"] = clock
    return row


def measure(runner: Runner, block: int, sample_rate: int, seconds: float, budget_s: float, clock: str = "wall") -> dict:
    """Time `seconds` of audio in blocks (at least 20 blocks, at most about `budget_s` of wall time)."""
    warm = bench_signal(WARMUP_SECONDS, sample_rate)
    runner.reset()
    for start in range(0, warm.size - block + 1, block):
        runner.process(warm[start:start + block], np.empty(block, np.float32))
    blocks = max(20, int(seconds * sample_rate) // block)
    x = bench_signal(blocks * block / sample_rate, sample_rate)[:blocks * block]
    x = np.pad(x, (0, blocks * block - x.size))
    y = np.empty_like(x)
    times = np.zeros((2, blocks), np.int64)
    runner.reset()
    done = runner.timed(x, y, block, times, int(budget_s * 1e9))
    return summarize(times[:, :done], block, sample_rate, clock)


def run_bench(targets: list[Target], backends=BACKENDS, blocks=DEFAULT_BLOCKS, seconds: float = 1.0,
              budget_s: float = 1.5, progress: bool = True, clock: str = "wall") -> dict:
    """Every (target, backend, block) row; a backend that cannot run a target gives one skip entry."""
    from tqdm import tqdm

    rows, skipped, system = [], [], system_info()
    with tempfile.TemporaryDirectory(prefix="ampemu-bench-") as tmp:
        total = len(targets) * len(backends) * len(blocks)
        with tqdm(total=total, desc="bench", unit="row", disable=not progress, file=sys.stderr) as bar:
            for target in targets:
                for backend in backends:
                    bar.set_postfix_str(f"{target.name} {backend}")
                    try:
                        runner = backend_factory(backend)(target, Path(tmp))
                    except Unavailable as exc:
                        skipped.append({"model": target.name, "backend": backend, "reason": str(exc)})
                        bar.update(len(blocks))
                        continue
                    for block in blocks:
                        row = {"model": target.name, "backend": backend, "block": block,
                               "sample_rate": target.sample_rate}
                        row.update(measure(runner, block, target.sample_rate, seconds, budget_s, clock))
                        row.update(throughput(row, target.macs_per_sample, system["peak_gflops"]))
                        rows.append(row)
                        bar.update(1)
    return {"system": system, "settings": {"blocks": list(blocks), "seconds": seconds, "budget_s": budget_s,
                                                  "backends": list(backends), "verdict_clock": clock, "fits_load": FITS_LOAD,
                                                  "too_slow_load": TOO_SLOW_LOAD, "rates": list(RATES)},
            "models": [{"name": t.name, "family": t.family, "source": t.source, "sample_rate": t.sample_rate,
                        "macs_per_sample": t.macs_per_sample, "activations_per_sample": t.activations_per_sample}
                       for t in targets],
            "rows": rows, "skipped": skipped, "memory": process_memory()}


def process_memory() -> dict | None:
    """This process's memory after the run (MB): resident now and at its peak, and locked."""
    from dataclasses import asdict

    from engine.realtime.memory import memory_use

    use = memory_use()
    return {key: round(value, 1) for key, value in asdict(use).items()} if use else None


# --- the machine ----------------------------------------------------------------------------------

def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip().rstrip("\x00")
    except OSError:
        return None


def _cpuinfo(key: str) -> str | None:
    for line in (_read("/proc/cpuinfo") or "").splitlines():
        name, _, value = line.partition(":")
        if name.strip() == key:
            return value.strip()
    return None


def _version(package: str) -> str | None:
    try:
        return importlib_metadata.version(package)
    except importlib_metadata.PackageNotFoundError:
        return None


def _vcgencmd(*args: str) -> str | None:
    """Raspberry Pi firmware queries (throttling, clocks, temperature); None elsewhere."""
    tool = shutil.which("vcgencmd")
    if tool is None:
        return None
    try:
        done = subprocess.run([tool, *args], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None


# fp32 multiply-adds per cycle of one core at the vector width the kernels use (engine/kernels/tile.py):
# two FMA pipes x lanes. AVX-512 counts 2 x 16 (Intel Xeon; Zen 4 runs it on 256-bit units: half that,
# so its share of peak reads low), AVX2 2 x 8, a Cortex-A76's NEON 2 x 4.
SIMD_MACS_PER_CYCLE = {"avx512": 32, "avx2": 16, "neon": 8}


def _simd() -> str | None:
    flags = set((_cpuinfo("flags") or _cpuinfo("Features") or "").split())
    if "avx512f" in flags:
        return "avx512"
    if {"avx2", "fma"} <= flags:
        return "avx2"
    return "neon" if "asimd" in flags else None


def peak_gflops(system: dict) -> float | None:
    """One core's fp32 FMA peak in GFLOP/s (2 flops per multiply-add) at the reported clock, or None."""
    macs = SIMD_MACS_PER_CYCLE.get(system.get("simd"))
    return round(2 * macs * system["core_mhz"] / 1000, 1) if macs and system.get("core_mhz") else None


def throughput(row: dict, macs_per_sample: int | None, peak: float | None) -> dict:
    """A row's achieved GFLOP/s (2 x MACs per sample x samples per second processed, from the median
    block) and its share of the core's peak; {} where the model does not count its MACs."""
    if not macs_per_sample:
        return {}
    gflops = 2 * macs_per_sample * row["sample_rate"] / row["rtf_median"] / 1e9
    return {"gflops": float(f"{gflops:.4g}"), "peak_fraction": float(f"{gflops / peak:.4g}") if peak else None}


def system_info() -> dict:
    """What the numbers depend on, each field None where this machine does not tell."""
    freq = _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq")
    max_freq = _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_max_freq")
    temp = _read("/sys/class/thermal/thermal_zone0/temp")
    mhz = _cpuinfo("cpu MHz")
    info = {
        "cpu": _cpuinfo("model name") or _read("/sys/firmware/devicetree/base/model") or platform.processor() or None,
        "cpu_part": _cpuinfo("CPU part"),  # ARM: 0xd0b is a Cortex-A76 (Pi 5)
        "machine": platform.machine(), "cores": os.cpu_count(),
        "core_mhz": round(int(freq) / 1000) if freq else (round(float(mhz)) if mhz else None),
        "core_mhz_max": round(int(max_freq) / 1000) if max_freq else None,
        "governor": _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
        "temperature_c": round(int(temp) / 1000, 1) if temp else None,
        "throttled": _vcgencmd("get_throttled"),
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "kernel": platform.release(), "python": platform.python_version(),
        "versions": {p: _version(p) for p in ("ampemu", "numpy", "numba", "llvmlite", "onnxruntime", "torch")},
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "simd": _simd(),
    }
    info["peak_gflops"] = peak_gflops(info)
    return info


# --- output ---------------------------------------------------------------------------------------

def _percent(share: float) -> str:
    return f"{100 * share:.0f} %"


def markdown(report: dict) -> str:
    s = report["system"]
    lines = [f"CPU: {s['cpu']} ({s['machine']}, {s['cores']} cores, {s['core_mhz']} MHz, governor {s['governor']}, "
             f"temperature {s['temperature_c']} C, throttled {s['throttled']}, load {s['load_average']}; "
             f"fp32 peak {s.get('peak_gflops')} GFLOP/s per core, {s.get('simd')})", "",
             "| model | backend | block | RTF median | RTF p99 | CPU p99 | headroom 44.1k | headroom 48k | verdict "
             "| GFLOP/s (share of peak) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|---:|"]
    for r in report["rows"]:
        flops = "" if r.get("gflops") is None else f"{r['gflops']:.1f}" + (
            f" ({_percent(r['peak_fraction'])})" if r.get("peak_fraction") is not None else "")
        lines.append(f"| {r['model']} | {r['backend']} | {r['block']} | {r['rtf_median']:.4f} | {r['rtf_p99']:.4f} | "
                     f"{r['rtf_p99_cpu']:.4f} | {_percent(r['headroom_44100'])} | {_percent(r['headroom_48000'])} | "
                     f"{r['verdict']} | {flops} |")
    skipped = {}  # (backend, reason) -> models: one line each
    for k in report["skipped"]:
        skipped.setdefault((k["backend"], k["reason"]), []).append(k["model"])
    if skipped:
        lines.append("")
        lines += [f"- skipped {backend} for {', '.join(models)}: {reason}" for (backend, reason), models in skipped.items()]
    if report.get("memory"):
        m = report["memory"]
        lines += ["", f"memory of this process: {m['rss_mb']:.0f} MB resident (peak {m['peak_rss_mb']:.0f} MB), "
                      f"{m['locked_mb']:.0f} MB locked"]
    clock = report["settings"]["verdict_clock"]
    lines += ["", f"RTF: block time / block duration (wall clock; CPU p99: this thread's CPU time). Headroom and "
                  f"verdict from the {clock} p99 block time at 48 kHz: fits < {_percent(FITS_LOAD)} of the period, "
                  f"tight < {_percent(TOO_SLOW_LOAD)}, else too slow. GFLOP/s: 2 x the model's multiply-adds per "
                  "sample x samples per second at the median block; peak: 2 FMA pipes x the vector lanes at the "
                  "reported clock (a VM's nominal clock: a boost clock makes the share read high)"]
    return "\n".join(lines)


# --- the signal chain's cost, stage by stage (`ampemu bench --ir/--gate/--eq/--highpass`) ------------

@njit(cache=True, error_model="numpy")
def _timed_played_blocks(layout, weights, state, cursor, clayout, cweights, cstate, cfstate, params, x, y, block,
                         times, with_model, with_chain):
    """Consecutive blocks through the model and/or its chain (as the callback runs them), each timed
    (wall, CPU ns). Without the model, y must hold its output already (the chain works in place)."""
    for b in range(times.shape[1]):
        xb, yb = x[b * block:(b + 1) * block], y[b * block:(b + 1) * block]
        c0 = _cpu_ns()
        t0 = _wall_ns()
        if with_model:
            process_block(layout, weights, state, cursor, xb, yb)
        if with_chain:
            chain_process(clayout, cweights, cstate, cfstate, params, xb, yb)
        times[0, b] = _wall_ns() - t0
        times[1, b] = _cpu_ns() - c0
    return times.shape[1]


def chain_stages(settings) -> list[tuple[str, object]]:
    """(stage name, settings playing that stage alone), then the whole chain."""
    from dataclasses import replace

    from engine.chain.settings import ChainSettings

    bare = ChainSettings(highpass_hz=0.0)
    stages = []
    if settings.gate_db is not None:
        stages.append((f"gate {settings.gate_db:g} dB", replace(bare, gate_db=settings.gate_db)))
    if settings.bass or settings.mid or settings.treble:
        stages.append(("tone stack", replace(bare, bass=settings.bass, mid=settings.mid, treble=settings.treble)))
    if settings.ir is not None:
        stages.append((f"IR {settings.ir.name}", replace(bare, ir=settings.ir, ir_normalize=settings.ir_normalize)))
    if settings.highpass_hz > 0:
        stages.append((f"high-pass {settings.highpass_hz:g} Hz", replace(bare, highpass_hz=settings.highpass_hz)))
    return stages + [("whole chain", settings)]


def chain_cost(model, settings, block: int, seconds: float = 1.0) -> dict:
    """Median and p99 block time (us) of the model alone, of each chain stage on its output, and of
    model plus chain in one loop; `ratio`: model plus chain over the model alone (p50)."""
    from engine.chain.chain import build_chain

    x = bench_signal(max(seconds, 20 * block / model.sample_rate), model.sample_rate)
    blocks = x.size // block
    x = x[:blocks * block]
    model_out = np.empty_like(x)

    def timed(chain, with_model, with_chain):
        y = model_out.copy()
        times = np.zeros((2, blocks), np.int64)
        model.reset()
        chain.reset()
        _timed_played_blocks(model.layout, model.weights, model.state, model.cursor, chain.layout, chain.weights,
                             chain.state, chain.fstate, chain.params, x, y, block, times, with_model, with_chain)
        return float(np.median(times[0])) / 1e3, float(np.percentile(times[0], 99)) / 1e3

    whole = build_chain(settings, model.sample_rate)
    model.reset()
    model.chain, saved = None, model.chain
    try:
        model.process_in_blocks(x, model_out, block)
        row = {"block": block, "model": timed(whole, True, False)}
        row["stages"] = [(name, timed(build_chain(s, model.sample_rate), False, True)) for name, s in chain_stages(settings)]
        row["model_and_chain"] = timed(whole, True, True)
    finally:
        model.chain = saved
        model.reset()
    row["ratio"] = row["model_and_chain"][0] / row["model"][0]
    return row


def chain_markdown(name: str, rows: list[dict]) -> str:
    stages = [stage for stage, _ in rows[0]["stages"]]
    lines = [f"Signal chain cost for {name}, us per block (median / p99, wall clock):", "",
             "| block | model alone | " + " | ".join(stages) + " | model + chain | ratio |",
             "|---:|---:|" + "---:|" * len(stages) + "---:|---:|"]
    for r in rows:
        cells = [f"{m:.1f} / {p:.1f}" for _, (m, p) in r["stages"]]
        lines.append(f"| {r['block']} | {r['model'][0]:.1f} / {r['model'][1]:.1f} | " + " | ".join(cells)
                     + f" | {r['model_and_chain'][0]:.1f} / {r['model_and_chain'][1]:.1f} | {r['ratio']:.2f}x |")
    return "\n".join(lines)


# --- a model on a server at another rate (`ampemu bench --server-rate HZ`) --------------------------

@njit(cache=True, error_model="numpy")
def _timed_resampled_blocks(rlayout, rweights, rstate, rcursor, layout, weights, state, cursor, x, y, block, times):
    """Server-rate blocks through the resampler and the model (as the callback plays them), each timed
    (wall, CPU ns)."""
    for b in range(times.shape[1]):
        c0 = _cpu_ns()
        t0 = _wall_ns()
        m = resample.consume(rlayout, rweights, rstate, rcursor, x[b * block:(b + 1) * block])
        xm, ym = resample.model_buffers(rlayout, rstate, m)
        process_block(layout, weights, state, cursor, xm, ym)
        resample.produce(rlayout, rweights, rstate, rcursor, m, y[b * block:(b + 1) * block])
        times[0, b] = _wall_ns() - t0
        times[1, b] = _cpu_ns() - c0
    return times.shape[1]


def resampling_cost(model, server_rate: int, block: int, seconds: float = 1.0) -> dict:
    """Median and p99 block time (us, wall) of the model alone at its own rate and of resampler + model
    on a `server_rate` server, both `block` frames per call; `ratio`: their DSP loads (median time per
    period) over each other, i.e. the CPU the resampler adds per second of audio."""
    from engine.chain.resampler import build_resampler

    resampler = build_resampler(server_rate, model.sample_rate)

    def timed(rate, run):
        x = bench_signal(max(seconds, 20 * block / rate), rate)
        blocks = x.size // block
        times = np.zeros((2, blocks), np.int64)
        model.reset()
        resampler.reset()
        run(x[:blocks * block], np.empty(blocks * block, np.float32), times)
        return float(np.median(times[0])) / 1e3, float(np.percentile(times[0], 99)) / 1e3

    alone = timed(model.sample_rate, lambda x, y, times: model.kernels.timed_blocks(
        model.layout, model.weights, model.state, model.cursor, x, y, block, times, 1 << 62))
    r = resampler
    played = timed(server_rate, lambda x, y, times: _timed_resampled_blocks(
        r.layout, r.weights, r.state, r.cursor, model.layout, model.weights, model.state, model.cursor, x, y, block,
        times))
    model.reset()
    ratio = (played[0] * server_rate) / (alone[0] * model.sample_rate)
    return {"block": block, "model": alone, "resampled": played, "ratio": ratio, "latency": r.latency}


def resampling_markdown(name: str, model_rate: int, server_rate: int, rows: list[dict]) -> str:
    lines = [f"Resampling {name} ({model_rate} Hz) for a {server_rate} Hz server, +{rows[0]['latency']:.0f} samples "
             "latency; us per block (median / p99, wall clock); ratio: DSP load with resampling over the model "
             "alone:", "",
             f"| block | model alone at {model_rate} Hz | resampler + model at {server_rate} Hz | ratio |",
             "|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['block']} | {r['model'][0]:.1f} / {r['model'][1]:.1f} | "
                     f"{r['resampled'][0]:.1f} / {r['resampled'][1]:.1f} | {r['ratio']:.3f}x |")
    return "\n".join(lines)
