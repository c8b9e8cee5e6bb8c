"""The web page's per-device token: a random secret in a 0600 file, created on first use.

`ampemu doctor` prints the page's address with it; the browser sends it once (`?token=`) and then
carries it in a cookie. Where it lives: $AMPEMU_WEB_TOKEN (a file path), else /etc/ampemu/web-token
when /etc/ampemu exists (the Pi installer writes it there, owned by the service user), else
~/.config/ampemu/web-token.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from engine.errors import AmpemuError


def token_path() -> Path:
    if os.environ.get("AMPEMU_WEB_TOKEN"):
        return Path(os.environ["AMPEMU_WEB_TOKEN"])
    system = Path("/etc/ampemu/web-token")
    if system.exists() or (system.parent.is_dir() and os.access(system.parent, os.W_OK)):
        return system
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "ampemu" / "web-token"


def read_token(path: Path) -> str:
    token = path.read_text(encoding="ascii").strip()
    if len(token) < 16:
        raise AmpemuError(f"{path}: the web token is shorter than 16 characters; delete the file and a new "
                          "one is made at the next start")
    return token


def load_or_create_token(path: Path | None = None) -> str:
    """The token in `path`, or a new random one written there, readable by its owner only."""
    path = path or token_path()
    try:
        return read_token(path)
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError) as exc:
        raise AmpemuError(f"{path}: cannot read the web token ({exc.__class__.__name__}); fix its owner "
                          "(the user ampemu runs as) or set AMPEMU_WEB_TOKEN to another file") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never readable by others, not even briefly
    except FileExistsError:  # another process made one meanwhile: use it
        return read_token(path)
    except OSError as exc:
        raise AmpemuError(f"{path}: cannot create the web token ({exc.strerror}); set AMPEMU_WEB_TOKEN to a "
                          "file in a folder you can write") from None
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(token + "\n")
    return token
