"""Replace a file whole or not at all: write a sibling temp file, fsync, rename over the target.

Every file ampemu writes (models, WAVs, the current-preset state) goes through here, so a crash,
Ctrl-C or power cut never leaves half a file where the user had a good one. Files get the mode a
plain write would give (0644 under umask 022; an overwritten file keeps its own), so the engine's
service user can read what the player's account wrote.
"""

from __future__ import annotations

import os
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path

from engine.errors import AmpemuError


def _mode_for(path: Path) -> int:
    """An overwritten file keeps its mode; a new one gets what open() would give (0666 less the umask)."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0o022)  # reading the umask means setting it: put it straight back
        os.umask(umask)
        return 0o666 & ~umask


@contextmanager
def replacing(path, suffix: str = ""):
    """Yield a temp path next to `path`; when the block succeeds it is synced and renamed onto `path`."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, _mode_for(path))  # mkstemp's 0600 would hide the file from the engine's own user
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


def check_writable(path, what: str = "output") -> Path:
    """Refuse, before any work, an output that cannot be written: a folder, a missing or read-only folder."""
    path = Path(path)
    if path.is_dir():
        raise AmpemuError(f"{path}: is a folder; give a file name for the {what}")
    folder = path.parent
    if not folder.is_dir():
        raise AmpemuError(f"{path}: the folder {folder} does not exist; create it or write the {what} elsewhere")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise AmpemuError(f"{path}: cannot write into {folder} (read-only or no permission); "
                          f"write the {what} elsewhere")
    return path
