"""Which preset is playing survives a restart: a tiny state file, written atomically.

The bank itself is never written: the user's edits stay untouched. The state file is replaced by
rename after fsync, so a crash or power cut leaves either the old or the new file, never half of one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from engine.atomic import write_atomically
from engine.errors import AmpemuError
from engine.formats.json_file import loads_document, read_text_file


def state_path() -> Path:
    """$AMPEMU_STATE_DIR, else /var/lib/ampemu when writable (the service), else ~/.local/state/ampemu."""
    if os.environ.get("AMPEMU_STATE_DIR"):
        folder = Path(os.environ["AMPEMU_STATE_DIR"])
    elif os.access("/var/lib/ampemu", os.W_OK):
        folder = Path("/var/lib/ampemu")
    else:
        folder = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "ampemu"
    return folder / "current-preset.json"


def save_current(name: str, path: Path | None = None) -> None:
    path = path or state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps({"preset": name}))


def load_current(names: list[str], path: Path | None = None) -> int:
    """Index of the saved preset in `names`; 0 when nothing (valid) was saved."""
    path = path or state_path()
    try:
        doc = loads_document(read_text_file(path, "preset state file", 4096), path)
    except AmpemuError:  # missing, damaged or hostile: start on the first preset
        return 0
    name = doc.get("preset") if isinstance(doc, dict) else None
    return names.index(name) if isinstance(name, str) and name in names else 0
