"""`ampemu run --model MODEL` or `--presets BANK`: play live through JACK (or PortAudio with --backend sounddevice).

With a bank (--presets, or the default bank when neither option is given) every preset is loaded and
prewarmed first; MIDI, footswitches and Python switch between them with crossfades in the callback.
With --web the phone page (engine/web, docs/web.md) runs on its own thread beside them.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

from engine.chain import settings as chain_settings
from engine.chain.chain import attach
from engine.chain.levels import calibration_db
from engine.audio_io import warn
from engine.errors import AmpemuError
from engine.presets.bank import GAIN_RANGE_DB, default_bank_path, load_bank
from engine.presets.current import load_current
from engine.presets.footswitch import start_footswitches
from engine.presets.live import CurrentPreset, Housekeeper, compile_ahead, configure, load_presets
from engine.realtime.channel import BLOCKS, MAX_BLOCK, NON_FINITE, Snapshot
from engine.realtime.jack_host import server_settings
from engine.realtime.memory import lock_memory, memory_use, release_compiler
from engine.sd_notify import SystemdNotifier
from engine.slim import add_slim_argument
from engine.slim_auto import load_for_playing
from engine.web.address import parse_web_address

LOOP_S = 0.25  # main loop tick: saves the current preset, pings the watchdog, prints stats when due


def add_arguments(p) -> None:
    source = p.add_mutually_exclusive_group()
    source.add_argument("--model", help="model file (.json or .nam)")
    source.add_argument("--presets", metavar="BANK", help="preset bank (TOML, see examples/presets.toml); without "
                        "--model or --presets: ~/.config/ampemu/presets.toml, else /etc/ampemu/presets.toml")
    p.add_argument("--systemd", action="store_true",
                   help="tell systemd READY=1 once live and ping its watchdog while audio runs (Type=notify)")
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
                   help="play a model captured at another rate than JACK's unresampled (default: through a resampler; "
                        "unresampled it will not sound like the device)")
    add_slim_argument(p, auto=True,
                      help="size 0..1 of a slimmable NAM model (--model), or auto (default): the largest size whose "
                           "p99 block time fits 40%% of the period, timed at start-up")
    p.add_argument("--web", metavar="[HOST:]PORT", default=None,
                   help="serve the phone page and its API (docs/web.md) on PORT of HOST (default 127.0.0.1; "
                        "0.0.0.0: every interface); the token is in the file `ampemu doctor` names")
    p.add_argument("--stats", action="store_true", help="print callback statistics every few seconds")
    p.add_argument("--stats-interval", type=float, default=5.0, metavar="S", help="seconds between --stats lines")
    p.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S seconds (default: run until stopped)")
    p.add_argument("--device", default=None, help="sounddevice backend: PortAudio device name or index")
    p.add_argument("--blocksize", type=int, default=128, help="sounddevice backend: frames per block (default 128)")
    p.add_argument("--latency", default="low", help="sounddevice backend: 'low', 'high' or seconds (default low)")
    chain_settings.add_arguments(p)  # with --model; a bank sets each preset's chain
    p.add_argument("--interface-input-dbu", type=float, metavar="DBU", help="--model: your interface's input level at "
                   "0 dBFS; a .nam capture recording input_level_dbu then gets NAM's calibrated input gain")
    p.add_argument("--interface-output-dbu", type=float, metavar="DBU", help="--model: your interface's output level "
                   "at 0 dBFS; a .nam capture recording output_level_dbu then plays at its recorded level")


def stats_line(now: Snapshot, window: Snapshot, rate: int, block: int, seconds: float | None = None,
               broken: int = 0) -> str:
    """One --stats line for a window of `seconds`; it starts with a warning when audio stalled."""
    period_us = block / rate * 1e6
    load = 100.0 * window.mean_us() / period_us
    line = (f"blocks {now.blocks} xruns {now.xruns} | last {window.blocks} blocks: callback mean {window.mean_us():.1f} us "
            f"p99 {window.percentile_us(99):.1f} us max {window.max_us():.1f} us, DSP load {load:.1f}% of "
            f"{period_us:.0f} us | longest callback CPU time so far {now.cpu_max_us():.1f} us")
    if window.stats[NON_FINITE]:
        line += f" | {window.stats[NON_FINITE]} blocks with NaN/Inf audio (played as silence)"
    if broken:
        line += f" | {broken} broken preset(s) skipped"
    expected = seconds * rate / block if seconds else 0
    if expected and window.blocks < expected / 2:
        state = "stopped" if window.blocks == 0 else "stalling"
        line = (f"WARNING: audio {state}: {window.blocks} of about {expected:.0f} blocks in the last {seconds:g} s "
                f"(JACK server stalled, or the interface is gone?) | " + line)
    return line


def _host(args, models):
    if args.backend == "sounddevice":
        from engine.realtime.sounddevice_host import SoundDeviceHost

        try:
            latency = args.latency if args.latency in ("low", "high") else float(args.latency)
        except ValueError:
            raise AmpemuError(f"--latency {args.latency}: use 'low', 'high' or a number of seconds") from None
        return SoundDeviceHost(models, device=args.device, blocksize=args.blocksize, latency=latency)
    from engine.realtime.jack_host import JackHost

    n_outs = len(args.destinations) if args.destinations else 2  # default: stereo, same signal on both
    return JackHost(models, name=args.name, n_outs=n_outs, ignore_rate=args.ignore_rate)


def run(args) -> int:
    if not 1 <= args.blocksize <= MAX_BLOCK:
        raise AmpemuError(f"--blocksize {args.blocksize}: must be 1..{MAX_BLOCK} frames")
    if not 0 < args.stats_interval <= 3600:  # also refuses nan
        raise AmpemuError(f"--stats-interval {args.stats_interval}: must be a number of seconds in (0, 3600]")
    if args.duration is not None and not args.duration >= 0:
        raise AmpemuError(f"--duration {args.duration}: must be a number of seconds, 0 or more")
    low, high = GAIN_RANGE_DB
    for option, value in (("--input-gain", args.input_gain), ("--output-gain", args.output_gain)):
        if not low <= value <= high:
            raise AmpemuError(f"{option} {value}: must be {low:g}..{high:g} dB")
    loaded = None

    def host_settings() -> tuple[int, int]:  # (period, rate) that --slim auto times a model at
        if args.backend == "jack":
            rate, period = server_settings()
            return period, rate
        return args.blocksize, 48000  # PortAudio opens at the model's rate: NAM's usual 48 kHz

    if args.model:
        chain = chain_settings.from_args(args)
        models = [attach(load_for_playing(args.model, args.slim, host_settings, fast=args.fast,
                                          say=lambda line: print(f"ampemu run: {line}", flush=True)), chain)]
    else:
        if args.ir or args.gate is not None or args.eq:
            warn("--ir, --gate and --eq apply with --model; a bank sets each preset's chain (ir, gate_db, bass, ...)")
        bank = load_bank(args.presets or default_bank_path())
        print(f"ampemu run: loading {len(bank.presets)} presets from {bank.path}", flush=True)
        loaded = load_presets(bank, fast=args.fast, say=lambda line: print(f"  {line}", flush=True),
                              host_settings=host_settings)
        models = loaded.models
    notifier = SystemdNotifier() if args.systemd else None
    web_address = parse_web_address(args.web) if args.web else None  # a bad --web fails before JACK starts
    host = _host(args, models)
    for note in host.rate_notes.values():
        print(f"ampemu run: {note}", flush=True)
    terminate = StopRequest()
    housekeeper = footswitches = web = None
    restart = []
    try:
        with host:
            # JACK: the compiled callback's working set; PortAudio's callback runs Python: the whole process
            locked = lock_memory(host.channel if args.backend == "jack" else None)
            host.channel.set_input_gain_db(args.input_gain)
            host.channel.set_output_gain_db(args.output_gain)
            if loaded:
                configure(host.channel, loaded, host.samplerate, load_current(loaded.names))
            else:
                gain_in, gain_out, notes = calibration_db(models[0].metadata, args.interface_input_dbu,
                                                          args.interface_output_dbu)
                host.channel.set_slot_gains(0, gain_in, models[0].output_gain_db + gain_out)
                for note in notes:
                    print(f"ampemu run: {note}", flush=True)
            # SIGTERM (systemd stop) ends the loop like a server shutdown would, but with exit code 0
            signal.signal(signal.SIGTERM, terminate)
            if args.backend == "jack":
                host.start(args.source, args.destinations, args.midi_sources, connect=not args.no_connect)
            else:
                host.start()
            release_compiler()  # everything is compiled and warm: LLVM's code pages go back to the OS
            if loaded:
                housekeeper = Housekeeper(host.channel).start()
                footswitches = start_footswitches(loaded.bank.footswitches, host.channel)
            if web_address:
                web = _start_web(web_address, host, loaded, lambda: _restart_when_compiled(host, loaded, restart))
            playing = (f"preset '{loaded.names[host.channel.selected]}' of {len(models)}" if loaded
                       else models[0].name)
            print(f"ampemu run: playing {playing} ({models[host.channel.selected].description}; "
                  f"{models[host.channel.selected].chain.describe()}) at "
                  f"{host.samplerate} Hz, block {host.blocksize}, backend {args.backend}, memory "
                  f"{'locked' if locked else 'not locked (raise the memlock limit: ulimit -l)'}"
                  f"{f' ({use.line()})' if (use := memory_use()) else ''}; Ctrl-C stops", flush=True)
            if notifier:
                notifier.ready(f"playing {playing}")
            if loaded and loaded.broken:
                print(f"ampemu run: WARNING: {len(loaded.broken)} preset(s) skipped, their model did not load: "
                      + "; ".join(loaded.broken), flush=True)
            _main_loop(args, host, terminate, CurrentPreset(host.channel, loaded.names) if loaded else None,
                       notifier, len(loaded.broken) if loaded else 0)
            if host.shutdown_reason:
                raise AmpemuError(f"the JACK server shut down ({host.shutdown_reason.strip()}); exiting")
    finally:
        if web:
            web.close()
        if notifier:
            notifier.stopping()
        if footswitches:
            footswitches.close()
        if housekeeper:
            housekeeper.close()
    if restart and not args.systemd:  # the page asked to load the saved bank: start over, same command line
        print("ampemu run: restarting to load the bank", flush=True)
        os.execv(sys.executable, sys.orig_argv)
    return 0  # under systemd (Restart=always) the service manager starts us again


def _restart_when_compiled(host, loaded, restart: list) -> None:
    """The page's restart: on a thread of its own, compile what the saved bank needs that is not
    compiled yet (a preset of another model family: minutes on a first start) while the current
    sound plays, then stop the loop; run() then starts over and loads everything from the cache."""
    def prepare():
        try:
            compile_ahead(load_bank(loaded.bank.path), host.channel.families, host.compile_callbacks,
                          say=lambda line: print(f"ampemu run: {line}", flush=True))
        except Exception as exc:  # noqa: BLE001  (the restart loads the bank again and reports it)
            warn(f"could not prepare the saved bank ({exc}); restarting anyway")
        restart.append(True)
        host.stop()

    threading.Thread(target=prepare, name="ampemu-restart", daemon=True).start()


def _start_web(address, host, loaded, restart):
    try:  # aiohttp and tomlkit (the pi extra) are imported only with --web
        from engine.web.bank_edit import BankEditor
        from engine.web.pedal import Pedal
        from engine.web.server import WebServer
    except ImportError as exc:
        raise AmpemuError(f"--web needs {exc.name}: pip install 'ampemu[pi]' (or drop --web)") from None
    from engine.web.token import load_or_create_token, token_path

    token = load_or_create_token()
    editor = BankEditor(loaded.bank.path, host.samplerate) if loaded else None
    pedal = Pedal(host.channel, loaded.names if loaded else None, host.samplerate)
    web = WebServer(pedal, token, *address, editor=editor, restart=restart if loaded else None,
                    capture_root=loaded.bank.path.parent / "captures" if loaded else None).start()
    print(f"ampemu run: web page on http://{address[0]}:{web.port}/ (token in {token_path()}; "
          "`ampemu doctor` prints the link)", flush=True)
    return web


class StopRequest:
    """The SIGTERM handler: it only sets a flag that the main loop polls every tick.

    A handler runs in the main thread between two bytecodes, possibly inside `Event.wait` while that
    thread holds the Event's lock; `Event.set()` there would wait for that lock forever."""

    def __init__(self):
        self.requested = False

    def __call__(self, *_signal_args) -> None:
        self.requested = True


def _main_loop(args, host, terminate: StopRequest, current: CurrentPreset | None, notifier: SystemdNotifier | None,
               broken: int = 0) -> None:
    """Until stopped: save preset changes, ping the watchdog while the callback advances, print stats."""
    started = shown = time.monotonic()
    previous, next_stats = host.channel.snapshot(), started + args.stats_interval
    tick = min(LOOP_S, notifier.watchdog_interval or LOOP_S) if notifier else LOOP_S
    while not host.stopped.is_set() and not terminate.requested:
        wait = tick
        if args.duration is not None:
            left = args.duration - (time.monotonic() - started)
            if left <= 0:
                break
            wait = min(wait, left)
        if host.stopped.wait(wait) or terminate.requested:
            break
        if current and (name := current.poll()):
            print(f"preset: {name}", flush=True)
        if notifier:
            notifier.watchdog(int(host.channel.stats[BLOCKS]))
        if args.stats and time.monotonic() >= next_stats:
            now = host.channel.snapshot()
            print(stats_line(now, now.since(previous), host.samplerate, host.blocksize, time.monotonic() - shown,
                             broken), flush=True)
            previous, next_stats, shown = now, next_stats + args.stats_interval, time.monotonic()
