"""`ampemu bench`: verdict logic, per-row arithmetic, built-in models, and a tiny run's table and JSON."""

import json
from pathlib import Path

import numpy as np
import pytest

from ampemu_tools import benchmarking
from ampemu_tools.bench_models import BUILTINS, random_gated, random_nam, resolve_target
from ampemu_tools.benchmarking import SIMD_MACS_PER_CYCLE, summarize, verdict
from support.data import data_file
from engine.cli import main
from engine.errors import AmpemuError
from engine.formats.nam import parse_nam, to_document
from engine.models import gated_wavenet_model
from ampemu_tools.reference import gated_wavenet_forward


@pytest.mark.parametrize("load, expected", [(0.0, "fits"), (0.4999, "fits"), (0.5, "tight"), (0.7999, "tight"),
                                            (0.8, "too slow"), (3.0, "too slow")])
def test_verdict_thresholds(load, expected):
    assert verdict(load) == expected


def test_summarize_uses_p99_for_headroom_and_verdict():
    # 97 blocks of 100 us and 3 of 1100 us; block 64: period 1451.2 us at 44.1 kHz, 1333.3 us at 48 kHz
    wall = np.array([100_000] * 97 + [1_100_000] * 3, np.int64)
    cpu = np.array([90_000] * 100, np.int64)  # the slow blocks were preempted, not busy
    times = np.stack([wall, cpu])
    row = summarize(times, 64, 48000)
    p99 = 1100e-6
    assert row["blocks_timed"] == 100
    assert row["rtf_median"] == pytest.approx(100e-6 * 48000 / 64, abs=1e-5)
    assert row["rtf_p99"] == pytest.approx(p99 * 48000 / 64, abs=1e-5)
    assert row["headroom_48000"] == pytest.approx(1 - p99 * 48000 / 64, abs=1e-4)
    assert row["headroom_44100"] == pytest.approx(1 - p99 * 44100 / 64, abs=1e-4)
    assert row["verdict"] == "too slow"  # 1100 us of a 1333 us period: 82.5 %
    assert row["rtf_p99_cpu"] == pytest.approx(90e-6 * 48000 / 64, abs=1e-5)
    by_cpu = summarize(times, 64, 48000, clock="cpu")
    assert by_cpu["verdict"] == "fits" and by_cpu["headroom_48000"] == pytest.approx(1 - 90e-6 * 48000 / 64, abs=1e-4)
    assert summarize(np.full((2, 50), 800_000, np.int64), 64, 48000)["verdict"] == "tight"  # 60 % of the period
    assert summarize(np.full((2, 50), 800_000, np.int64), 128, 48000)["verdict"] == "fits"  # 30 %


def test_mac_counts_from_the_architecture():
    # seed: input 4 + 18 layers x (3*4*8 conv + 4*4 residual + 4 mix)
    assert random_gated(4).macs_per_sample == 4 + 18 * (96 + 16 + 4)
    # NAM standard has 13802 parameters; every one but the 481 biases and head_scale is one MAC per sample
    standard = random_nam("standard")
    assert len(to_document(standard)["weights"]) == 13802
    assert BUILTINS["nam-standard"]().macs_per_sample == standard.macs_per_sample == 13802 - 481 - 1


def test_builtin_models_are_valid_models():
    """The gated built-ins play like the reference maths; the NAM ones survive the .nam format's validation."""
    x = (0.3 * np.random.default_rng(0).standard_normal(3000)).astype(np.float32)
    weights = BUILTINS["gated-8"]().model
    y = gated_wavenet_model(weights).process(x)
    np.testing.assert_allclose(y, gated_wavenet_forward(weights, x), atol=2e-4)
    assert np.abs(y).max() > 1e-3
    for size in ("nano", "feather", "lite", "standard"):
        model = BUILTINS[f"nam-{size}"]().model
        assert parse_nam(json.loads(json.dumps(to_document(model)))).macs_per_sample == model.macs_per_sample


def test_timed_kernel_loop_runs_the_real_model(tmp_path):
    """What the numba rows time is the model itself: the output equals a plain block-wise render."""
    target = BUILTINS["nam-nano"]()
    runner = benchmarking.backend_factory("numba-exact")(target, tmp_path)
    x = benchmarking.bench_signal(0.05, 48000)[:2048]
    y = np.zeros_like(x)
    times = np.zeros((2, 2048 // 64), np.int64)
    runner.reset()
    assert runner.timed(x, y, 64, times, 10**12) == 2048 // 64
    assert (times > 0).all()
    from engine.models import nam_wavenet_model

    expected = np.empty_like(x)
    nam_wavenet_model(target.model).process_in_blocks(x, expected, 64)
    np.testing.assert_array_equal(y, expected)


def test_tiny_bench_run_prints_a_table_and_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = main(["bench", "seed", "nam-nano", "--blocks", "32,64", "--seconds", "0.02", "--no-progress",
                 "--backends", "numba-exact,numba-fast,numpy-reference", "--json", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    table = [line for line in printed.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| model | backend | block | RTF median | RTF p99 |")
    rows = [line.split("|")[1:-1] for line in table[1:]]
    assert len(rows) == 3 * 2 + 2 * 2  # seed: 3 backends, nano: 2 (no numpy reference for NAM)
    assert {(r[0].strip(), r[1].strip(), int(r[2])) for r in rows} == \
        {(m, b, n) for m, bs in (("seed", ("numba-exact", "numba-fast", "numpy-reference")),
                                 ("nam-nano", ("numba-exact", "numba-fast"))) for b in bs for n in (32, 64)}
    assert all(r[8].strip() in ("fits", "tight", "too slow") for r in rows)
    assert "skipped numpy-reference for nam-nano: the numpy reference is the gated WaveNet's" in printed

    report = json.loads(out.read_text())
    assert {"cpu", "machine", "cores", "core_mhz", "governor", "temperature_c", "throttled", "load_average",
            "versions"} <= set(report["system"])
    assert report["system"]["versions"]["numba"]
    system = report["system"]
    if system["simd"] and system["core_mhz"]:  # the core's peak, from its vector width and clock
        assert system["peak_gflops"] == pytest.approx(2 * SIMD_MACS_PER_CYCLE[system["simd"]] * system["core_mhz"] / 1000,
                                                      abs=0.1)
    assert report["settings"]["blocks"] == [32, 64]
    assert [m["name"] for m in report["models"]] == ["seed", "nam-nano"]
    assert report["models"][0]["macs_per_sample"] == 2092
    assert len(report["rows"]) == 10
    for row in report["rows"]:
        assert row["blocks_timed"] >= 20
        assert 0 < row["rtf_median"] <= row["rtf_p99"]
        assert 0 < row["rtf_median_cpu"] <= row["rtf_p99_cpu"]
        load = row["block_us_p99"] * 1e-6 * 48000 / row["block"]
        assert row["headroom_48000"] == pytest.approx(1 - load, abs=1e-3)
        assert row["headroom_44100"] == pytest.approx(1 - load * 44100 / 48000, abs=1e-3)
        assert row["verdict"] == verdict(load)
        macs = {"seed": 2092, "nam-nano": report["models"][1]["macs_per_sample"]}[row["model"]]
        assert row["gflops"] == pytest.approx(2 * macs * row["sample_rate"] / row["rtf_median"] / 1e9, rel=0.01)
        if system["peak_gflops"]:
            assert row["peak_fraction"] == pytest.approx(row["gflops"] / system["peak_gflops"], rel=0.01)
    assert report["skipped"] == [{"model": "nam-nano", "backend": "numpy-reference",
                                  "reason": "the numpy reference is the gated WaveNet's (.json)"}]
    status = {line.split(":")[0]: int(line.split()[1]) / 1024 for line in open("/proc/self/status")
              if line.startswith(("VmHWM", "VmLck"))}
    memory = report["memory"]  # this process's own (/proc/self/status), as the run left it
    assert 0 < memory["rss_mb"] <= memory["peak_rss_mb"] <= status["VmHWM"] + 0.1
    assert memory["locked_mb"] == pytest.approx(status["VmLck"], abs=0.1)
    assert f"memory of this process: {memory['rss_mb']:.0f} MB resident" in printed


def test_bench_refuses_bad_arguments_in_one_line(tmp_path, capsys):
    assert main(["bench", str(tmp_path / "missing.nam"), "--no-progress"]) == 2
    assert main(["bench", "seed", "--blocks", "0,64"]) == 2
    assert main(["bench", "seed", "--backends", "numba-exact,cuda"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 3
    assert "missing.nam: no such model file" in errors[0]
    assert "block sizes must be 1..8192 frames" in errors[1]
    assert "unknown cuda" in errors[2]
    with pytest.raises(AmpemuError, match="neither a built-in"):
        resolve_target(str(Path(tmp_path / "model.wav")))


def test_pi5_estimate_scales_numba_rows_by_peak_mac_rates():
    from ampemu_tools import pi5_estimate

    system = {"machine": "x86_64", "core_mhz": 2400}
    assert pi5_estimate.scale_factor(system) == pytest.approx(2.0)  # AVX2's 16 MACs/cycle vs NEON's 8, same clock
    assert pi5_estimate.scale_factor(dict(system, simd="avx512")) == pytest.approx(4.0)  # the kernels' 16-lane tiles
    assert pi5_estimate.scale_factor({"machine": "aarch64", "core_mhz": 2400}) is None
    row = {"model": "seed", "block": 64, "sample_rate": 44100, "rtf_median": 0.01, "rtf_p99": 0.2}
    report = {"system": system, "models": [{"name": "seed", "macs_per_sample": 2092}],
              "rows": [dict(row, backend="numba-exact"), dict(row, backend="onnxruntime")]}
    (est,) = pi5_estimate.estimate(report)
    assert est["backend"] == "numba-exact"
    assert est["x86_gmacs"] == pytest.approx(2092 * 44100 / 0.01 / 1e9, abs=0.01)
    assert est["peak_share"] == pytest.approx(est["x86_gmacs"] / (16 * 2.4), abs=1e-3)  # the share assumed on the A76
    assert est["pi5_rtf_median"] == pytest.approx(0.02) and est["pi5_rtf_p99"] == pytest.approx(0.4)
    assert est["pi5_headroom_48000"] == pytest.approx(1 - 0.4 * 48000 / 44100, abs=1e-3)
    assert est["pi5_verdict"] == "fits"
    assert "ESTIMATE" in pi5_estimate.markdown(report)


def test_bench_runs_an_onnx_file_on_onnxruntime_only(tmp_path, capsys):
    pytest.importorskip("torch", reason="exporting the test's .onnx needs the train extra")
    from training.bench_backends import export_onnx

    path = export_onnx(BUILTINS["seed"](), tmp_path)
    out = tmp_path / "onnx.json"
    assert main(["bench", str(path), "--blocks", "64", "--seconds", "0.02", "--no-progress", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert [(r["model"], r["backend"], r["block"]) for r in report["rows"]] == [("seed", "onnxruntime", 64)]
    assert report["models"][0]["family"] == "onnx" and report["models"][0]["sample_rate"] == 44100
    assert {s["backend"] for s in report["skipped"]} == {"numba-exact", "numba-fast", "torch", "numpy-reference"}


def test_bench_measures_each_slim_size_of_a_container(capsys):
    path = data_file("models", "nam-a2", "fuzzface_a2.nam")
    assert main(["bench", str(path), "--slim", "0", "--slim", "0.5", "--blocks", "64", "--backends", "numba-exact",
                 "--seconds", "0.05", "--budget", "0.2", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "| fuzzface_a2 (A2-Lite, slim 0) | numba-exact | 64 |" in out
    assert "| fuzzface_a2 (A2-Full, slim 0.5) | numba-exact | 64 |" in out
