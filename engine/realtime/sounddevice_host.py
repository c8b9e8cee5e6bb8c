"""Fallback backend for machines without JACK: PortAudio (ALSA directly) through sounddevice.

The same compiled block code as the JACK callback (`interleaved_block`) runs inside sounddevice's
callback. That callback is a Python function (sounddevice/cffi), so unlike the JACK backend it needs
the GIL for a few microseconds per block: prefer JACK on stage, use this where JACK is not there.
"""

from __future__ import annotations

import gc
import threading

import numpy as np

from engine.chain.resampler import play_at
from engine.errors import AmpemuError
from engine.realtime import channel as ch
from engine.realtime.block import INTERLEAVED_ARGS, for_families, warm_up
from engine.realtime.channel import Channel
from engine.streaming import StreamingModel


def _sounddevice():
    try:
        import sounddevice
    except (ImportError, OSError) as exc:  # OSError: the PortAudio library is missing
        raise AmpemuError(f"sounddevice/PortAudio is not available ({exc}); install it (Debian: apt-get install "
                          "libportaudio2; pip install sounddevice)")
    return sounddevice


class SoundDeviceHost:
    @staticmethod
    def compile_callbacks(families: frozenset):
        """What this host runs for models of these kernel ids, compiled (or loaded from numba's cache);
        callable on any Python thread while audio plays."""
        return for_families(families).interleaved_block.compile(INTERLEAVED_ARGS)

    def __init__(self, models: list[StreamingModel], *, device: str | None = None, blocksize: int = 128,
                 latency: str | float = "low", n_outs: int = 2):
        sd = _sounddevice()
        try:  # as many outputs as asked for and the device has (same signal on each)
            n_outs = max(1, min(n_outs, int(sd.query_devices(device, "output")["max_output_channels"])))
        except (ValueError, sd.PortAudioError):
            pass  # an unknown device: Stream() below reports it with the list of devices
        rate = models[0].sample_rate
        self.rate_notes = {}  # a bank's models at another rate than the first one's play resampled
        for model in models:
            if model.sample_rate != rate:
                try:
                    play_at(model, rate)
                except ValueError as exc:
                    raise AmpemuError(f"model '{model.name}': {exc}") from None
                self.rate_notes.setdefault(model.sample_rate, model.resampler.describe(blocksize, host="device"))
        self.channel = Channel(models, n_outs)
        self._interleaved = for_families(self.channel.families).interleaved_block  # compiled by start()'s warm_up
        self.stopped = threading.Event()
        try:
            self.stream = sd.Stream(samplerate=rate, blocksize=blocksize, device=(device, device), channels=(1, n_outs),
                                    dtype="float32", latency=latency, callback=self._callback,
                                    finished_callback=self.stopped.set)
        except (ValueError, sd.PortAudioError) as exc:
            devices = "; ".join(f"{i}: {d['name']}" for i, d in enumerate(sd.query_devices()))
            # PortAudio opens the device at the model's rate or not at all: no silent wrong-rate playing
            problem = str(exc).splitlines()[0]
            raise AmpemuError(f"cannot open audio device {device or '(default)'} at {rate} Hz: {problem}; "
                              f"devices: {devices or 'none'}") from None

    def _callback(self, indata, outdata, frames, time, status) -> None:
        if status:
            self.channel.stats[ch.XRUNS] += 1  # an under/overflow reported by PortAudio
        self._interleaved(self.channel.descriptor, indata, outdata)

    @property
    def samplerate(self) -> int:
        return int(self.stream.samplerate)

    @property
    def blocksize(self) -> int:
        return int(self.stream.blocksize)

    def start(self) -> None:
        out = np.zeros((ch.MAX_BLOCK, 1), np.float32)
        warm_up(self.channel, self.blocksize or 1024,
                lambda x: self._interleaved(self.channel.descriptor, x.reshape(-1, 1), out[:x.size]))
        gc.collect()
        gc.freeze()
        self.stream.start()

    def stop(self) -> None:
        self.stopped.set()

    shutdown_reason = ""  # PortAudio has no server that could go away

    def close(self) -> None:
        self.stream.stop()
        self.stream.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
