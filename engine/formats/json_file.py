"""Reading the JSON document a model file is, with every problem as one line naming the file.

Both JSON model formats (WaveNetVA `.json`, NAM `.nam`) read through `read_document`; writing goes
through engine/atomic.py.
"""

from __future__ import annotations

import json
from pathlib import Path

from engine.errors import AmpemuError


def read_document(path: Path):
    """The decoded JSON in `path`; missing, unreadable, invalid or truncated files are an AmpemuError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AmpemuError(f"{path}: no such model file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AmpemuError(f"{path}: cannot read the model file ({exc.__class__.__name__})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise AmpemuError(f"{path}: invalid or truncated JSON at line {exc.lineno} column {exc.colno}; "
                          "re-export or re-download the model") from None
