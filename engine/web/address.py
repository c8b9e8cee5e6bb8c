"""`--web [HOST:]PORT`, parsed without importing the web server (aiohttp loads only when it is used)."""

from __future__ import annotations

from engine.errors import AmpemuError

WEB_PORT = 8080  # what the Pi's service listens on (systemd/ampemu.service)


def parse_web_address(text: str) -> tuple[str, int]:
    """'8080' -> ('127.0.0.1', 8080); 'HOST:PORT' as given ('0.0.0.0:8080' for every interface)."""
    host, _, port = text.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise AmpemuError(f"--web {text}: use PORT or HOST:PORT (e.g. 8080, or 0.0.0.0:8080 for every interface)")
    return (host.strip("[]") or "127.0.0.1"), number
