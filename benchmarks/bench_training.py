"""Training throughput on CPU: samples per second of one Adam step, per preset, window and batch.

Run: .venv/bin/python -m pytest benchmarks/bench_training.py --benchmark-columns=median,iqr
One torch thread (the trainer's default), random audio, forward + the recipe's loss + backward + Adam
step. extra_info["samples_per_s"] = window * batch / median step time; the `seed` preset at the default
window/batch is the in-process reference the others compare against. test_threads times the default
preset at one and at two threads (issue 14: one thread stays the default unless two make more steps
in the same time).
"""

import pytest
import torch

from training.recipe import BATCH, PRE_EMPHASIS, PRESET, WINDOW
from training.model import PRESETS, build_network, resolve_architecture
from training.module import esr_loss

SHAPES = [(4096, 8), (WINDOW, BATCH), (32768, 1)]


@pytest.mark.parametrize("window,batch", SHAPES)
@pytest.mark.parametrize("preset", list(PRESETS))
def test_training_step(benchmark, preset, window, batch):
    torch.set_num_threads(1)
    step = training_step(preset, window, batch)
    benchmark.group = f"training step {window}x{batch}"
    benchmark.pedantic(step, rounds=10, warmup_rounds=2)
    benchmark.extra_info.update(preset=preset, window=window, batch=batch,
                                samples_per_s=round(window * batch / benchmark.stats.stats.median))


def training_step(preset: str, window: int, batch: int):
    """One optimiser step of `preset` on random audio, as a callable."""
    torch.manual_seed(0)
    net = build_network(*resolve_architecture(preset))
    optimiser = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], 1e-3)
    x = 0.3 * torch.randn(batch, 1, window + net.receptive_field - 1)
    y = 0.3 * torch.randn(batch, 1, window)

    def step():
        optimiser.zero_grad()
        esr_loss(net(x), y, PRE_EMPHASIS, (1.0, 1.0)).backward()
        optimiser.step()

    return step


@pytest.mark.parametrize("threads", [1, 2])
def test_threads(benchmark, threads):
    torch.set_num_threads(threads)
    benchmark.group = f"training step, {PRESET} {WINDOW}x{BATCH}, by torch threads"
    benchmark.pedantic(training_step(PRESET, WINDOW, BATCH), rounds=10, warmup_rounds=2)
    benchmark.extra_info.update(threads=threads)
    torch.set_num_threads(1)
