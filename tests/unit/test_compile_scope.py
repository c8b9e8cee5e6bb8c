"""What a first start compiles: only the played model's family, and each function once.

A literal constant argument to an @njit function, or array types that differ between call sites,
make numba compile a function twice; a family a model does not belong to must not be compiled for
it at all. Both cost minutes on a first start (benchmarks/cold_start.py measures it).
"""

import os
import subprocess
import sys

import numpy as np
import soundfile as sf
from numba.core.registry import CPUDispatcher

from support.data import REPO, data_file
from engine.chain.chain import attach
from engine.chain.settings import ChainSettings
from engine.kernels import chain, dispatch, fft
from engine.models import load_model
from engine.render import render


def signatures(module) -> dict[str, int]:
    return {name: len(f.signatures) for name, f in vars(module).items() if isinstance(f, CPUDispatcher)}


def test_a_model_with_a_full_chain_compiles_each_chain_function_once(tmp_path):
    ir = tmp_path / "cab.wav"
    sf.write(ir, np.exp(-np.arange(2000) / 300.0) * np.random.default_rng(0).standard_normal(2000), 48000)
    settings = ChainSettings(ir=ir, gate_db=-70.0, bass=2.0, mid=-1.0, treble=1.5, highpass_hz=40.0)
    model = attach(load_model(data_file("models", "nam", "random_nano.nam")), settings)
    x = (0.3 * np.random.default_rng(1).standard_normal(4096)).astype(np.float32)
    render(model, x, block=64)
    model.process(x[:100])
    compiled = {**signatures(chain), **signatures(fft)}
    assert compiled and all(count <= 1 for count in compiled.values()), compiled


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
from numba.core import event
compiled = []
class Listener(event.Listener):
    def on_start(self, ev):
        compiled.append(ev.data["dispatcher"].py_func.__module__)
    def on_end(self, ev):
        pass
event.register("numba:compile", Listener())
from engine.models import load_model
load_model(sys.argv[1])  # builds, prewarms and renders the standard phrase
print(" ".join(sorted(set(compiled))))
"""


def test_a_first_start_compiles_no_other_family(tmp_path):
    """From an empty cache, loading an LSTM compiles the LSTM kernel and none of the WaveNets'."""
    done = subprocess.run([sys.executable, "-c", PROBE, str(data_file("models", "nam-a2", "lstm.nam"))], cwd=REPO,
                          env=dict(os.environ, AMPEMU_NUMBA_CACHE=str(tmp_path)), capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    modules = done.stdout.split()
    assert "engine.kernels.nam_lstm" in modules and "engine.kernels.dispatch" in modules
    assert "engine.kernels.nam_wavenet" not in modules and "engine.kernels.gated_wavenet" not in modules
