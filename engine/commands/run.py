"""`ampemu run --model MODEL`: play a model live through JACK (or PortAudio with --backend sounddevice)."""

from __future__ import annotations

import signal
import time

from engine.errors import AmpemuError
from engine.models import load_model
from engine.realtime.channel import Snapshot
from engine.realtime.memory import lock_memory


def add_arguments(p) -> None:
    p.add_argument("--model", required=True, help="model file (.json or .nam)")
    p.add_argument("--fast", action="store_true", help="fast activations (max error about 1e-4, less CPU)")
    p.add_argument("--backend", choices=("jack", "sounddevice"), default="jack",
                   help="jack (default; the callback runs without Python) or sounddevice (PortAudio, no JACK needed)")
    p.add_argument("--in", dest="source", metavar="PORT", help="JACK port to read (default: first system capture port)")
    p.add_argument("--out", dest="destinations", metavar="PORT", action="append",
                   help="JACK port to feed, repeatable; one engine output per --out (default: the system playback ports)")
    p.add_argument("--midi-in", dest="midi_sources", metavar="PORT", action="append",
                   help="JACK MIDI port to listen to, repeatable (default: the physical MIDI inputs)")
    p.add_argument("--no-connect", action="store_true", help="register the ports but connect nothing")
    p.add_argument("--name", default="ampemu", help="JACK client name (default ampemu)")
    p.add_argument("--input-gain", type=float, default=0.0, metavar="DB", help="gain before the model, dB")
    p.add_argument("--output-gain", type=float, default=0.0, metavar="DB", help="gain after the model, dB")
    p.add_argument("--ignore-rate", action="store_true",
                   help="play even if JACK's sample rate differs from the model's (it will not sound like the device)")
    p.add_argument("--stats", action="store_true", help="print callback statistics every few seconds")
    p.add_argument("--stats-interval", type=float, default=5.0, metavar="S", help="seconds between --stats lines")
    p.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S seconds (default: run until stopped)")
    p.add_argument("--device", default=None, help="sounddevice backend: PortAudio device name or index")
    p.add_argument("--blocksize", type=int, default=128, help="sounddevice backend: frames per block (default 128)")
    p.add_argument("--latency", default="low", help="sounddevice backend: 'low', 'high' or seconds (default low)")


def stats_line(now: Snapshot, window: Snapshot, rate: int, block: int) -> str:
    period_us = block / rate * 1e6
    load = 100.0 * window.mean_us() / period_us
    return (f"blocks {now.blocks} xruns {now.xruns} | last {window.blocks} blocks: callback mean {window.mean_us():.1f} us "
            f"p99 {window.percentile_us(99):.1f} us max {window.max_us():.1f} us, DSP load {load:.1f}% of "
            f"{period_us:.0f} us | longest callback CPU time so far {now.cpu_max_us():.1f} us")


def _host(args, model):
    if args.backend == "sounddevice":
        from engine.realtime.sounddevice_host import SoundDeviceHost

        try:
            latency = args.latency if args.latency in ("low", "high") else float(args.latency)
        except ValueError:
            raise AmpemuError(f"--latency {args.latency}: use 'low', 'high' or a number of seconds") from None
        return SoundDeviceHost([model], device=args.device, blocksize=args.blocksize, latency=latency)
    from engine.realtime.jack_host import JackHost

    n_outs = len(args.destinations) if args.destinations else 2  # default: stereo, same signal on both
    return JackHost([model], name=args.name, n_outs=n_outs, ignore_rate=args.ignore_rate)


def run(args) -> int:
    if args.blocksize < 1:
        raise AmpemuError(f"--blocksize {args.blocksize}: must be at least 1 frame")
    if args.stats_interval <= 0:
        raise AmpemuError(f"--stats-interval {args.stats_interval}: must be a positive number of seconds")
    model = load_model(args.model, fast=args.fast)
    host = _host(args, model)
    with host:
        locked = lock_memory()  # before start(): warm-up then touches every page the callback uses
        host.channel.set_input_gain_db(args.input_gain)
        host.channel.set_output_gain_db(args.output_gain)
        # SIGTERM (systemd stop) ends the loop like a server shutdown would, but with exit code 0
        signal.signal(signal.SIGTERM, lambda *_: host.stop())
        if args.backend == "jack":
            host.start(args.source, args.destinations, args.midi_sources, connect=not args.no_connect)
        else:
            host.start()
        print(f"ampemu run: playing {model.name} ({model.description}) at {host.samplerate} Hz, "
              f"block {host.blocksize}, backend {args.backend}, memory "
              f"{'locked' if locked else 'not locked (raise the memlock limit: ulimit -l)'}; Ctrl-C stops", flush=True)
        started = time.monotonic()
        previous = host.channel.snapshot()
        interval = args.stats_interval if args.stats else 0.5
        while not host.stopped.is_set():
            wait = interval
            if args.duration is not None:
                left = args.duration - (time.monotonic() - started)
                if left <= 0:
                    break
                wait = min(wait, left)
            if host.stopped.wait(wait):
                break
            if args.stats:
                now = host.channel.snapshot()
                print(stats_line(now, now.since(previous), host.samplerate, host.blocksize), flush=True)
                previous = now
        if host.shutdown_reason:
            raise AmpemuError(f"the JACK server shut down ({host.shutdown_reason.strip()}); exiting")
    return 0
