"""The engine's promises to the Pi: it runs without torch, and a block allocates nothing."""

import subprocess
import sys
import textwrap

import numpy as np
from numba import njit
from numba.core.runtime import _nrt_python, rtsys

from support.data import REPO, data_file
from engine.kernels.dispatch import process_block
from engine.models import load_model


def test_engine_imports_and_renders_without_torch(tmp_path):
    """A subprocess where `import torch` fails still loads a model and processes audio."""
    model = data_file("models", "wavenetva", "SmartGuitarPedal_ts9_fullD.json")
    script = textwrap.dedent(f"""
        import sys
        class BlockTorch:
            def find_spec(self, name, path=None, target=None):
                if name == "torch" or name.startswith(("torch.", "lightning")):
                    raise ImportError("torch is not installed on this Pi")
        sys.meta_path.insert(0, BlockTorch())
        import numpy as np
        import engine, engine.cli, engine.render
        from engine.models import load_model
        m = load_model(r"{model}")
        y = engine.render.render(m, np.sin(np.arange(4410, dtype=np.float32) * 0.05) * 0.3, block=64)
        assert np.all(np.isfinite(y)) and np.abs(y).max() > 0
        assert not any(k == "torch" or k.startswith("torch.") for k in sys.modules)
        engine.cli.build_parser()
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ok")


@njit
def _run_blocks(layout, weights, state, cursor, x, y, blocks, block):
    for b in range(blocks):
        process_block(layout, weights, state, cursor, x[b * block:(b + 1) * block], y[b * block:(b + 1) * block])


def test_processing_a_block_allocates_nothing():
    """numba's allocator counts every heap allocation; 1 block and 300 blocks must cost the same
    (only the arguments' wrappers of the Python -> numba call are counted, once per call)."""
    model = load_model(data_file("models", "wavenetva", "WaveNetVA_WaveNet2-ts7.json"))
    x = np.random.default_rng(0).standard_normal(64 * 300).astype(np.float32) * 0.3
    y = np.empty_like(x)
    args = (model.layout, model.weights, model.state, model.cursor, x, y)
    _run_blocks(*args, 1, 64)  # compile
    was_enabled = _nrt_python.memsys_stats_enabled()
    _nrt_python.memsys_enable_stats()
    try:
        before = rtsys.get_allocation_stats()
        _run_blocks(*args, 1, 64)
        one = rtsys.get_allocation_stats()
        _run_blocks(*args, 300, 64)
        many = rtsys.get_allocation_stats()
    finally:
        if not was_enabled:
            _nrt_python.memsys_disable_stats()
    assert many.alloc - one.alloc == one.alloc - before.alloc
    assert many.mi_alloc - one.mi_alloc == one.mi_alloc - before.mi_alloc
    assert np.all(np.isfinite(y))
