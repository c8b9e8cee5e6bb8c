"""`ampemu capture`: re-amp a device through the pedal's own interface and write a capture pair.

    ampemu capture --calibrate --send PORT --return PORT   # once per rig and JACK settings, with a loop cable
    ampemu capture --out DIR --send PORT --return PORT     # the take: DIR/input.wav, output.wav, capture.json
    ampemu capture --signal FILE                           # the capture signal, to re-amp from a DAW instead

The signal is engine/capture/signal.py, the JACK client engine/capture/recorder.py, the calibration
engine/capture/calibration.py, the take's checks engine/capture/checks.py and the take itself (shared with
the phone page) engine/capture/take.py; docs/capture.md has the wiring and the levels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.audio_io import write_wav
from engine.capture import calibration, take
from engine.capture.signal import DEFAULT_LEVEL_DB, DEFAULT_SECONDS, capture_signal, check_level, layout
from engine.errors import AmpemuError


def add_arguments(p) -> None:
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--calibrate", action="store_true",
                      help="measure the rig's round-trip latency and gain through a loop cable from the send to the "
                           "return, and keep them for later takes")
    mode.add_argument("--out", metavar="DIR", help="take a capture: play the signal to --send, record --return, write "
                                                   "DIR/input.wav, DIR/output.wav, DIR/capture.json")
    mode.add_argument("--signal", metavar="FILE", help="write the capture signal as a WAV (to re-amp from a DAW)")
    p.add_argument("--send", metavar="PORT", help="JACK port the signal goes to (the interface output feeding the "
                                                  "re-amp box), e.g. system:playback_1")
    p.add_argument("--return", dest="ret", metavar="PORT", help="JACK port the device comes back on (the interface "
                                                                "input from the load box or mic), e.g. system:capture_1")
    p.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, help=f"signal length (default {DEFAULT_SECONDS:g})")
    p.add_argument("--level", type=float, default=DEFAULT_LEVEL_DB, metavar="DBFS",
                   help=f"the signal's peak level (default {DEFAULT_LEVEL_DB:g} dBFS; set the re-amp box so this "
                        "drives the device like your guitar)")
    p.add_argument("--rate", type=int, default=48000, help="--signal only: sample rate (a take uses JACK's)")
    p.add_argument("--latency", type=int, metavar="FRAMES",
                   help="use this round trip instead of the calibrated one")
    p.add_argument("--overwrite", action="store_true", help="replace an existing take or signal file")


def _ports(args) -> tuple[str, str]:
    if not args.send or not args.ret:
        raise AmpemuError("name both ports: --send PORT (to the device) and --return PORT (from it); "
                          "list them with `jack_lsp`")
    return args.send, args.ret


def _progress(total_s: float, what: str):
    """A terminal progress bar fed from the recorder's thread: seconds done and the return's peak."""
    from tqdm import tqdm

    bar = tqdm(total=round(total_s, 1), unit="s", desc=what, disable=None, leave=False,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} s{postfix}")
    state = {"peak": 0.0, "seen": 0}

    def update(done: int, recorded: np.ndarray, rate: int) -> None:
        if recorded.size > state["seen"]:
            state["peak"] = max(state["peak"], float(np.abs(recorded[state["seen"]:]).max()))
            state["seen"] = recorded.size
        bar.n = round(done / rate, 1)
        bar.set_postfix_str(f"return peak {20 * np.log10(max(state['peak'], 1e-12)):.1f} dBFS", refresh=True)

    return bar, update


def _calibrate(args) -> int:
    from engine.capture.recorder import DuplexRecorder

    send, ret = _ports(args)
    with DuplexRecorder() as recorder:
        rate = recorder.sample_rate
        bar, update = _progress(calibration.calibration_signal(rate, recorder.period)[0].size / rate + 0.5, "calibrating")
        with bar:
            rig = calibration.measure(recorder, send, ret, lambda done, rec: update(done, rec, rate))
    path = calibration.save(rig)
    print(f"round trip {send} -> {ret}: {rig.latency} frames = {rig.latency_ms:.2f} ms at {rig.sample_rate} Hz "
          f"(period {rig.period}); loop gain {rig.gain_db:+.2f} dB at 1 kHz; return noise floor "
          f"{rig.noise_floor_db:.1f} dBFS; click match {rig.match:.3f}")
    print(f"saved in {path} (calibrate again after changing the interface, its gains, or JACK's rate, period or "
          "periods)")
    return 0


def _take_folder(out: str, overwrite: bool) -> Path:
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise AmpemuError(f"{folder}: exists and is not a folder; choose another --out")
    present = [name for name in take.TAKE_FILES if (folder / name).exists()]
    if present and not overwrite:
        raise AmpemuError(f"{folder / present[0]}: a take is already there; choose another --out, or --overwrite "
                          "to replace it")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AmpemuError(f"{folder}: cannot create the folder ({exc.strerror})") from None
    return folder


def _capture(args) -> int:
    from engine.capture.recorder import DuplexRecorder

    send, ret = _ports(args)
    if args.latency is not None and args.latency < 0:
        raise AmpemuError("--latency must be >= 0 frames")
    layout(args.seconds, 48000)  # reject a bad --seconds or --level before touching JACK
    check_level(args.level)
    folder = _take_folder(args.out, args.overwrite)
    with DuplexRecorder() as recorder:
        plan = take.plan(recorder, send, ret, args.seconds, args.level, args.latency)
        print(plan.describe())
        bar, update = _progress(plan.frames / plan.rate, "capturing")
        with bar:
            result = take.record(recorder, plan, lambda done, rec: update(done, rec, plan.rate))
    levels = result.report.levels
    print(f"levels: sent peak {levels['send_peak_dbfs']:.1f} dBFS, return peak {levels['return_peak_dbfs']:.1f} "
          f"dBFS, RMS {levels['return_rms_dbfs']:.1f} dBFS, noise floor {levels['return_noise_floor_dbfs']:.1f} dBFS")
    if result.report.problems:
        raise take.refusal(result)
    written = take.write(folder, result)
    print(f"wrote {', '.join(map(str, written))}")
    print(f"next: ampemu train --input {written[0]} --output {written[1]} --run-dir runs/NAME")
    return 0


def _signal(args) -> int:
    path = Path(args.signal)
    if path.exists() and not args.overwrite:
        raise AmpemuError(f"{path}: already exists; choose another name or --overwrite")
    signal = capture_signal(args.seconds, args.rate, args.level)
    write_wav(path, signal, args.rate)
    clicks = layout(args.seconds, args.rate)[1]
    print(f"wrote {path}: {args.seconds:g} s at {args.rate} Hz, peak {args.level:g} dBFS; calibration clicks at "
          f"frames {', '.join(map(str, clicks))}")
    return 0


def run(args) -> int:
    if args.calibrate:
        return _calibrate(args)
    if args.out:
        return _capture(args)
    return _signal(args)
