"""numba kernels, one module per model family, all behind engine.kernels.dispatch.process_block.

numba's on-disk cache (cache=True) is keyed by each function's own source file, so after an edit of
a helper in another module (activations, linalg) it would happily load stale machine code that
inlined the old helper. We therefore cache under a directory named after a hash of every kernel
source: any edit here means a fresh compile, never a wrong one.
"""

import hashlib
import os
from pathlib import Path

from numba.core import config


def _cache_dir() -> str:
    here = Path(__file__).parent
    # the real-time callback's compiled modules inline each other and the kernels: same rule
    realtime = [here.parent / "realtime" / name for name in ("native.py", "channel.py", "block.py", "jack_callback.py")]
    sources = sorted(here.glob("*.py")) + [p for p in realtime if p.exists()]
    digest = hashlib.sha256(b"".join(p.name.encode() + p.read_bytes() for p in sources)).hexdigest()[:16]
    base = os.environ.get("AMPEMU_NUMBA_CACHE") or os.environ.get("NUMBA_CACHE_DIR") or \
        os.path.join(os.path.expanduser("~"), ".cache", "ampemu", "numba")
    return os.path.join(base, digest)


config.CACHE_DIR = _cache_dir()
