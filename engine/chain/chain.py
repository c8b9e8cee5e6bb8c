"""`Chain`: the stages a slot plays after its model, as flat arrays behind the streaming interface.

A chain belongs to one model (`attach`): the model's `process`, `reset` and the offline render play
it, and the real-time callback runs the same compiled code on the same arrays (the slot's record in
the channel's descriptor), so a crossfade between presets fades model, tone stack and IR together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.chain.ir import ImpulseResponse, load_ir
from engine.chain.settings import ChainSettings, chain_parameter, parameters_by_name
from engine.kernels import chain as kernel

PARTITION = 64  # IR samples in direct form; FFT partitions of this size (128-point transforms) after


@dataclass
class Chain:
    layout: np.ndarray  # int64, read-only
    weights: np.ndarray  # float32: IR head, partition spectra, FFT tables
    state: np.ndarray  # float32: IR input history and spectra
    fstate: np.ndarray  # float64: filters, gate, scratch
    params: np.ndarray  # float64 parameter vector (offline; live, the control channel holds the slot's copy)
    settings: ChainSettings
    ir: ImpulseResponse | None = None

    def process(self, x: np.ndarray, y: np.ndarray) -> None:
        """y (the model's output for input x) through the chain, in place."""
        kernel.process(self.layout, self.weights, self.state, self.fstate, self.params, x, y)

    def reset(self) -> None:
        self.state[:] = 0.0
        self.fstate[:] = 0.0

    # the control channel asks these, so the callback's modules import nothing from engine/chain/
    @staticmethod
    def parameter(name: str, value) -> tuple[int, float]:
        """(index, value the kernel reads) of a named parameter; ValueError with its range."""
        return chain_parameter(name, value)

    @staticmethod
    def by_name(vector: np.ndarray) -> dict[str, float | None]:
        return parameters_by_name(vector)

    def describe(self) -> str:
        s = self.settings
        parts = [f"IR {s.ir.name} ({self.ir.samples.size} samples{', normalised' if s.ir_normalize else ''})"
                 if self.ir is not None else "no IR"]
        parts.append("gate off" if s.gate_db is None else f"gate {s.gate_db:g} dB")
        if s.bass or s.mid or s.treble:
            parts.append(f"EQ {s.bass:+g}/{s.mid:+g}/{s.treble:+g} dB")
        parts.append(f"high-pass {s.highpass_hz:g} Hz" if s.highpass_hz > 0 else "no high-pass")
        return ", ".join(parts)


def build_chain(settings: ChainSettings, rate: int, partition: int = PARTITION) -> Chain:
    """Load the IR (resampled to `rate`), lay out and compile the chain; AmpemuError for a bad IR file."""
    params = settings.vector()
    ir = load_ir(settings.ir, rate, settings.ir_normalize) if settings.ir is not None else None
    arrays = kernel.build(ir.samples if ir is not None else np.zeros(0), rate, partition)
    chain = Chain(*arrays, params=params, settings=settings, ir=ir)
    x = np.zeros(1, np.float32)
    chain.process(x, x.copy())  # compile (or load from cache) now, not at the first block
    chain.reset()
    return chain


def attach(model, settings: ChainSettings):
    """Give `model` a chain built at its rate (replacing any it had) and return the model, reset."""
    model.chain = build_chain(settings, model.sample_rate)
    model.level_db = None  # measured at load without the chain: the IR and the tone stack change it
    x = np.zeros(1, np.float32)
    model.process_in_blocks(x, x.copy(), 1)  # compile the model-and-chain loop the offline render uses
    model.reset()
    return model
