"""numba kernels, one module per model family, all behind engine.kernels.dispatch.process_block.

numba's on-disk cache (cache=True) is keyed by each function's own source file, so after an edit of
anything it compiled in from another module (a helper in activations or linalg, the activation codes
of engine/formats/nam/activations.py that nam_wavenet.py freezes as constants) it would happily load
stale machine code.
We therefore cache under a directory named after a hash of every source whose values the compiled
code holds: the kernels, the real-time callbacks' modules (they inline each other and the kernels),
and the modules in COMPILED_IN. tests/unit/test_numba_cache_key.py checks that a compiled module
imports from any other engine module only classes (Python-side types, never compiled in).
"""

import hashlib
import os
import sys
from pathlib import Path


def _import_numba_without_scipy() -> None:
    """numba probes scipy's BLAS when numba.np.arraymath loads (at the first compile or cache load;
    for np.dot, which no kernel uses): where scipy is installed (a desktop with the train extra) that
    maps scipy and a second OpenBLAS, tens of MB, into a player. scipy is hidden while that module
    loads, unless something imported either already; anything may import scipy afterwards."""
    if "numba.np.arraymath" in sys.modules or "scipy" in sys.modules:
        return
    sys.modules["scipy"] = None  # `import scipy` raises ImportError
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        del sys.modules["scipy"]


_import_numba_without_scipy()

from numba.core import config  # noqa: E402

ENGINE = Path(__file__).resolve().parents[1]
COMPILED = ("kernels/*.py", "realtime/native.py", "realtime/libjack.py", "realtime/channel.py",
            "realtime/block.py", "realtime/jack_callback.py", "capture/callback.py")
COMPILED_IN = ("formats/nam/activations.py",)  # ACTIVATIONS: its order gives nam_wavenet's activation codes


def hashed_sources(root: Path = ENGINE) -> list[Path]:
    return sorted({p for pattern in COMPILED + COMPILED_IN for p in root.glob(pattern)})


def cache_key(root: Path = ENGINE) -> str:
    """16 hex digits of a hash of every hashed source's path and bytes."""
    digest = hashlib.sha256()
    for path in hashed_sources(root):
        digest.update(path.relative_to(root).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def _cache_dir() -> str:
    base = os.environ.get("AMPEMU_NUMBA_CACHE") or os.environ.get("NUMBA_CACHE_DIR") or \
        os.path.join(os.path.expanduser("~"), ".cache", "ampemu", "numba")
    return os.path.join(base, cache_key())


config.CACHE_DIR = _cache_dir()
