"""`JackHost`: a JACK client whose process callback is the compiled `jack_process` cfunc.

Python (JACK-Client) does everything that is not real time: opening the client, registering ports,
matching the sample rate (a resampler for a model captured at another), connecting, and the notification callbacks (xrun, buffer size, shutdown),
which run on JACK's non-real-time thread. The audio itself never enters Python: the process
callback is registered directly with libjack, its `void *arg` pointing at the channel's descriptor.
"""

from __future__ import annotations

import collections
import gc
import threading

from engine.audio_io import warn
from engine.chain.resampler import play_at
from engine.errors import AmpemuError
from engine.realtime import channel as ch
from engine.realtime.block import warm_up
from engine.realtime.channel import Channel
from engine.streaming import StreamingModel

AUTO = None  # connect to the system's physical ports
NO_SERVER = ("cannot connect to a JACK server (is jackd running, as this user, with the JACK_DEFAULT_SERVER "
             "name you expect?); start it, e.g. `jackd -d alsa -r 48000 -p 128 -n 2`, or use --backend sounddevice")


def load_jack():
    """The JACK-Client module, or one line on what to install."""
    try:
        import jack
    except (ImportError, OSError) as exc:  # OSError: JACK-Client is installed but libjack is not
        raise AmpemuError(f"JACK is not available ({exc}); install it (Debian: apt-get install "
                          "--no-install-recommends jackd2; pip install JACK-Client) or use --backend sounddevice")
    return jack


def quiet_libjack(jack) -> collections.deque:
    """Keep libjack's own prints (several lines per failed open or lost server) out of the terminal.

    The engine reports each fault as one line of its own; libjack's last messages stay available in
    the returned deque for debugging.
    """
    messages = collections.deque(maxlen=50)
    jack.set_error_function(messages.append)
    jack.set_info_function(messages.append)
    return messages


def open_client(jack, name: str, no_server: str = NO_SERVER):
    """A JACK client of the running server (never starting one); the one line `no_server` when there is none."""
    try:
        return jack.Client(name, no_start_server=True)
    except jack.JackOpenError:
        jack.set_error_function(None)
        jack.set_info_function(None)
        raise AmpemuError(no_server) from None


def server_settings(name: str = "ampemu-probe") -> tuple[int, int]:
    """(sample rate, period) of the running JACK server, from a client that opens and closes at once;
    raises AmpemuError when no server runs."""
    jack = load_jack()
    quiet_libjack(jack)
    client = open_client(jack, name)
    try:
        return client.samplerate, client.blocksize
    finally:
        client.close()


def resolve_ports(client, names, *, is_output: bool, midi: bool = False) -> list[str]:
    """Check port names exist (is_output: ports that produce signal); one line listing the candidates
    when one does not."""
    kind = dict(is_midi=True) if midi else dict(is_audio=True)
    existing = [p.name for p in client.get_ports(is_output=is_output, is_input=not is_output, **kind)]
    for name in names:
        if name not in existing:
            role = ("MIDI" if midi else "audio") + (" sources" if is_output else " destinations")
            raise AmpemuError(f"JACK port '{name}' does not exist; {role}: {', '.join(existing) or 'none'}")
    return list(names)


class JackHost:
    @staticmethod
    def compile_callbacks(families: frozenset):
        """Everything this host runs for models of these kernel ids, compiled (or loaded from numba's
        cache): its cfunc (warm_up runs it too). Callable on any Python thread while audio plays."""
        from engine.realtime.jack_callback import for_families

        return for_families(families)

    def __init__(self, models: list[StreamingModel], *, name: str = "ampemu", n_outs: int = 1,
                 ignore_rate: bool = False, midi: bool = True):
        self.jack = jack = load_jack()
        self.active, self.shutdown_reason = False, ""
        self.stopped = threading.Event()  # set on server shutdown (or by stop())
        self.libjack_messages = quiet_libjack(jack)
        self.client = open_client(jack, name)
        try:
            self._match_rates(models, ignore_rate)
            self.inport = self.client.inports.register("in")
            self.outports = [self.client.outports.register(f"out_{i + 1}") for i in range(n_outs)]
            self.midiport = self.client.midi_inports.register("midi_in") if midi else None
            self.channel = Channel(models, n_outs)
            # compiled for the models' families (or loaded from numba's cache) once a server is known to be there
            self.callback = jack_process = self.compile_callbacks(self.channel.families)
            self.channel.set_ports(self._handle(self.inport), [self._handle(p) for p in self.outports],
                                   self._handle(self.midiport) if midi else 0)
            self.client.set_shutdown_callback(self._on_shutdown)
            self.client.set_xrun_callback(self._on_xrun)
            self.client.set_blocksize_callback(self._on_blocksize)
            ffi, lib = jack._ffi, jack._lib
            err = lib.jack_set_process_callback(self.client._ptr, ffi.cast("JackProcessCallback", jack_process.address),
                                                ffi.cast("void *", int(self.channel.descriptor.ctypes.data)))
            if err:
                raise AmpemuError(f"JACK refused the process callback (error {err})")
        except BaseException:
            self.close()
            raise

    # --- setup -------------------------------------------------------------------------------------
    def _handle(self, port) -> int:
        return int(self.jack._ffi.cast("uintptr_t", port._ptr))

    def _match_rates(self, models, ignore_rate: bool) -> None:
        """A model captured at another rate than the server's plays through a resampler (one line per
        rate in `rate_notes`); --ignore-rate plays it unresampled instead (pitch and tone off)."""
        rate = self.client.samplerate
        self.rate_notes = {}
        for model in models:
            if model.sample_rate == rate:
                continue
            if ignore_rate:
                warn(f"JACK runs at {rate} Hz but model '{model.name}' was captured at {model.sample_rate} Hz: "
                     f"playing it unresampled (--ignore-rate), it will not sound like the device")
                continue
            try:
                play_at(model, rate)
            except ValueError as exc:
                raise AmpemuError(f"model '{model.name}': {exc}; restart JACK at {model.sample_rate} Hz "
                                  f"(jackd ... -r {model.sample_rate})") from None
            if model.sample_rate not in self.rate_notes:
                self.rate_notes[model.sample_rate] = model.resampler.describe(self.client.blocksize)

    def _resolve(self, names, *, is_output: bool, midi: bool = False) -> list[str]:
        return resolve_ports(self.client, names, is_output=is_output, midi=midi)

    def _physical(self, *, is_output: bool, midi: bool = False) -> list[str]:
        kind = dict(is_midi=True) if midi else dict(is_audio=True)
        return [p.name for p in self.client.get_ports(is_physical=True, is_output=is_output,
                                                      is_input=not is_output, **kind)]

    # --- running -----------------------------------------------------------------------------------
    def start(self, source: str | None = AUTO, destinations: list[str] | None = AUTO,
              midi_sources: list[str] | None = AUTO, connect: bool = True) -> None:
        """Check connections, warm up, freeze the garbage collector, activate, connect."""
        links = []
        if connect:
            sources = self._resolve([source], is_output=True) if source else self._physical(is_output=True)[:1]
            links += [(s, self.inport.name) for s in sources]
            dests = (self._resolve(destinations, is_output=False) if destinations is not None
                     else self._physical(is_output=False))
            links += list(zip((p.name for p in self.outports), dests))
            if self.midiport is not None:
                midis = (self._resolve(midi_sources, is_output=True, midi=True) if midi_sources is not None
                         else self._physical(is_output=True, midi=True))
                links += [(m, self.midiport.name) for m in midis]
        from engine.realtime.jack_callback import without_ports

        warm_up(self.channel, self.client.blocksize, without_ports(self.callback, self.channel))
        # nothing the callback touches is a Python object, but a collection pass in this process
        # would still pause the notification thread and the stats printer: do it now, then freeze
        gc.collect()
        gc.freeze()
        self.client.activate()
        self.active = True
        for src, dst in links:
            self.client.connect(src, dst)

    def stop(self) -> None:
        self.stopped.set()

    def close(self) -> None:
        """Deactivate (unless the server already went away) and close the client."""
        try:
            if self.active and not self.shutdown_reason:
                self.client.deactivate()
            self.client.close()
        finally:
            self.active = False
            # libjack keeps the error hooks after the client is gone: never leave a Python one behind
            self.jack.set_error_function(None)
            self.jack.set_info_function(None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def samplerate(self) -> int:
        return self.client.samplerate

    @property
    def blocksize(self) -> int:
        return self.client.blocksize

    # --- JACK notifications (non-real-time thread; must not raise) ---------------------------------
    def _on_shutdown(self, status, reason) -> None:
        self.shutdown_reason = reason or str(status) or "unknown reason"
        self.stopped.set()

    def _on_xrun(self, delay_us) -> None:
        self.channel.stats[ch.XRUNS] += 1

    def _on_blocksize(self, blocksize) -> None:
        # state is sized for MAX_BLOCK and the kernels split long blocks internally: nothing to
        # reallocate; a larger period than MAX_BLOCK is silenced by the callback and reported here
        if blocksize > ch.MAX_BLOCK:
            warn(f"JACK period {blocksize} exceeds the engine's maximum {ch.MAX_BLOCK}: output is muted")
