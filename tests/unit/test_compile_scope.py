"""What a first start compiles: only the played model's family, and each function once.

A literal constant argument to an @njit function, or array types that differ between call sites,
make numba compile a function twice; a family a model does not belong to must not be compiled for
it at all. Both cost minutes on a first start (benchmarks/cold_start.py measures it).
"""

import os
import subprocess
import sys

import numpy as np

from support.data import REPO, data_file
from engine.kernels import dispatch
from engine.models import load_model
from engine.render import render


def test_one_family_compiles_only_its_own_entry_points():
    kernels = dispatch.for_families(frozenset((dispatch.NAM_WAVENET,)))
    assert kernels.process_block is dispatch.nam_wavenet.process  # no wrapper to compile
    assert dispatch.for_model(np.array([dispatch.NAM_WAVENET])) is kernels
    model = load_model(data_file("models", "nam", "random_nano.nam"))
    assert model.kernels is kernels
    render(model, np.zeros(300, np.float32), block=64)
    assert len(kernels.play_in_blocks.signatures) == 1
    lstm_only = dispatch.for_families(frozenset((dispatch.NAM_LSTM,))).play_in_blocks
    wavenet_in_lstm_only = np.ones(64, np.float32)
    lstm_only(model.layout, model.weights, model.state, model.cursor, *dispatch.NO_CHAIN,
              np.ones(64, np.float32), wavenet_in_lstm_only, 64)
    assert not wavenet_in_lstm_only.any()  # a family not compiled in plays silence, it does not crash


PROBE = """
import sys
import numpy as np
import soundfile as sf
from numba.core import event
from numba.core.registry import CPUDispatcher
compiled = []
class Listener(event.Listener):
    def on_start(self, ev):
        compiled.append(ev.data["dispatcher"].py_func.__module__)
    def on_end(self, ev):
        pass
event.register("numba:compile", Listener())
from engine.chain.chain import attach
from engine.chain.settings import ChainSettings
from engine.kernels import chain, fft, linalg, nam_wavenet
from engine.models import load_model
from engine.render import render
ir = sys.argv[2]
sf.write(ir, np.exp(-np.arange(2000) / 300.0) * np.random.default_rng(0).standard_normal(2000), 48000)
settings = ChainSettings(ir=ir, gate_db=-70.0, bass=2.0, mid=-1.0, treble=1.5, highpass_hz=40.0)
model = attach(load_model(sys.argv[1]), settings)  # builds, prewarms, measures on the standard phrase
x = (0.3 * np.random.default_rng(1).standard_normal(4096)).astype(np.float32)
render(model, x, block=64)
model.process(x[:100])
twice = [name for module in (chain, fft, linalg, nam_wavenet) for name, f in vars(module).items()
         if isinstance(f, CPUDispatcher) and f.py_func.__module__ == module.__name__ and len(f.signatures) > 1
         and f is not linalg.tiled_acc]
taps_dil = sorted(str(sig[10:12]) for sig in linalg.tiled_acc.signatures)
print(" ".join(sorted(set(compiled))), "|", " ".join(twice), "|", ";".join(taps_dil))
"""


def test_a_first_start_compiles_the_models_family_once_and_no_other(tmp_path):
    """From an empty cache, a NAM WaveNet with a full chain (gate, EQ, IR, high-pass) compiles its
    own kernel and the chain, each function once (a literal argument or a different array type at
    another call site would compile a second specialisation), and none of the other families'.
    linalg.tiled_acc compiles twice, on purpose: its 1x1 calls pass literal taps 1, dil 0 (folded
    to constants there), every other argument at every call site is an int64 value."""
    done = subprocess.run([sys.executable, "-c", PROBE, str(data_file("models", "nam", "random_nano.nam")),
                           str(tmp_path / "cab.wav")], cwd=REPO, capture_output=True, text=True, timeout=900,
                          env=dict(os.environ, AMPEMU_NUMBA_CACHE=str(tmp_path / "numba")))
    assert done.returncode == 0, done.stderr[-2000:]
    modules, twice, taps_dil = done.stdout.split("|")
    modules, twice, taps_dil = modules.split(), twice.split(), taps_dil.strip().split(";")
    assert {"engine.kernels.nam_wavenet", "engine.kernels.chain", "engine.kernels.dispatch"} <= set(modules)
    assert "engine.kernels.nam_lstm" not in modules and "engine.kernels.gated_wavenet" not in modules
    assert twice == []
    assert taps_dil == ["(Literal[int](1), Literal[int](0))", "(int64, int64)"]


LIVE_PROBE = """
import sys
from numba.core import event
compiled = []
class Listener(event.Listener):
    def on_start(self, ev):
        compiled.append(ev.data["dispatcher"].__wrapped__.__module__)
    def on_end(self, ev):
        pass
event.register("numba:compile", Listener())
from engine.models import load_model
from engine.realtime.block import for_families, warm_up
from engine.realtime.channel import Channel
from engine.realtime.jack_callback import without_ports
from engine.realtime.jack_host import JackHost
channel = Channel([load_model(sys.argv[1])])
callback = JackHost.compile_callbacks(channel.families)  # what `ampemu run` on JACK compiles for it
warm_up(channel, 64, without_ports(callback, channel))  # and runs before activation
print(" ".join(sorted(set(compiled))), "|", len(for_families(channel.families).render_block.signatures),
      callback.cache_hits)
"""


def test_the_live_callbacks_of_a_bank_compile_its_family_only_and_load_from_the_cache_next_time(tmp_path):
    """From an empty cache, `ampemu run`'s JACK callback for a bank of LSTM captures compiles the
    LSTM kernel and neither WaveNet's, and its warm-up runs the cfunc itself (no second compiled
    copy of the block code); a second start loads all of it, the cfunc included, from the cache and
    compiles nothing (a closure's cache key holds plain values, not a dispatcher)."""
    def start():
        done = subprocess.run([sys.executable, "-c", LIVE_PROBE, str(data_file("models", "nam-a2", "lstm.nam"))],
                              cwd=REPO, capture_output=True, text=True, timeout=900,
                              env=dict(os.environ, AMPEMU_NUMBA_CACHE=str(tmp_path / "numba")))
        assert done.returncode == 0, done.stderr[-2000:]
        modules, counts = (part.split() for part in done.stdout.split("|"))
        return set(modules), [int(c) for c in counts]

    modules, (signatures, cfunc_hits) = start()
    assert {"engine.kernels.nam_lstm", "engine.realtime.block", "engine.realtime.jack_callback"} <= modules
    assert "engine.kernels.nam_wavenet" not in modules and "engine.kernels.gated_wavenet" not in modules
    assert signatures == 0 and cfunc_hits == 0
    modules, (signatures, cfunc_hits) = start()
    assert modules == set() and cfunc_hits == 1


def test_a_bank_gaining_another_family_compiles_it_ahead_and_switches_to_it_sample_exact(tmp_path):
    """The page saved a bank that adds a NAM WaveNet preset to the LSTM one that plays: compile_ahead
    (what the restart runs while the current sound plays) compiles the JACK callback for both
    families before any channel exists; a channel of both then switches, in that very callback, from
    the LSTM to the WaveNet with the crossfade the offline reference computes, sample for sample."""
    from support.audio import guitar_like
    from support.presets import switch_reference
    from engine.presets.bank import load_bank
    from engine.presets.live import compile_ahead
    from engine.realtime import block
    from engine.realtime.channel import Channel
    from engine.realtime.jack_callback import without_ports
    from engine.realtime.jack_host import JackHost

    lstm, nano = data_file("models", "nam-a2", "lstm.nam"), data_file("models", "nam", "random_nano.nam")
    (tmp_path / "bank.toml").write_text(f'[[preset]]\nname = "lstm"\nmodel = "{lstm}"\n\n'
                                        f'[[preset]]\nname = "nano"\nmodel = "{nano}"\n')
    said = []
    families = compile_ahead(load_bank(tmp_path / "bank.toml"), frozenset((dispatch.NAM_LSTM,)),
                             JackHost.compile_callbacks, say=said.append)
    assert families == {dispatch.NAM_LSTM, dispatch.NAM_WAVENET} and len(said) == 1
    callback = JackHost.compile_callbacks(families)  # the same cfunc, already built
    channel = Channel([load_model(lstm), load_model(nano)])
    channel.set_crossfade(300, "equal-power")
    play = without_ports(callback, channel)
    block.warm_up(channel, 64, play)
    assert not block.for_families(families).render_block.signatures  # nothing but the cfunc was compiled
    channel.start_on(0)
    x = guitar_like(0.3, 48000, seed=5)
    y = np.empty_like(x)
    switch_block = 40
    for index, start in enumerate(range(0, x.size, 64)):
        if index == switch_block:
            channel.select_slot(1)
        y[start:start + 64] = play(x[start:start + 64])
    expected = switch_reference(x, switch_block * 64, (lstm, 1.0, 1.0), (nano, 1.0, 1.0), 300, "equal-power")
    np.testing.assert_array_equal(y, expected)
