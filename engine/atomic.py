"""Replace a file whole or not at all: write a sibling temp file, fsync, rename over the target.

Every file ampemu writes (models, WAVs, the current-preset state) goes through here, so a crash,
Ctrl-C or power cut never leaves half a file where the user had a good one.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(path, suffix: str = ""):
    """Yield a temp path next to `path`; when the block succeeds it is synced and renamed onto `path`."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomically(path, data: bytes | str) -> Path:
    path = Path(path)
    with replacing(path) as tmp:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)
    return path
