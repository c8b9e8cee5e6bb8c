"""systemd's notify protocol (`Type=notify`): READY=1 once live, WATCHDOG=1 pings, STOPPING=1 on exit.

The protocol is one datagram per message to the AF_UNIX socket named in $NOTIFY_SOCKET, so the
standard library's socket does it in a few lines; a library would add a dependency for nothing.
The watchdog is pinged only while the audio callback advances: a hung JACK graph (a callback that
stopped running) then gets the service restarted, which a ping from a merely alive process would hide.
"""

from __future__ import annotations

import os
import socket


class SystemdNotifier:
    def __init__(self, environ=os.environ):
        address = environ.get("NOTIFY_SOCKET", "")
        if address.startswith("@"):  # abstract namespace
            address = "\0" + address[1:]
        self.address = address or None
        usec = environ.get("WATCHDOG_USEC", "")
        # ping at half the watchdog period, as sd_watchdog_enabled(3) recommends
        self.watchdog_interval = int(usec) / 2e6 if usec.isdigit() and int(usec) > 0 else None
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) if self.address else None
        if self._socket is not None:
            self._socket.setblocking(False)  # a full queue drops a ping; it never stalls the main loop
        self._last_blocks = None

    def send(self, message: str) -> None:
        if self._socket is None:
            return
        try:
            self._socket.sendto(message.encode(), self.address)
        except OSError:
            pass  # systemd went away or its queue is full: nothing to tell, nothing to wait for

    def ready(self, status: str = "") -> None:
        self.send("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def watchdog(self, blocks: int) -> bool:
        """Ping if the callback's block counter moved since the last call; True when pinged."""
        advanced = self._last_blocks is not None and blocks != self._last_blocks
        self._last_blocks = blocks
        if advanced:
            self.send("WATCHDOG=1")
        return advanced

    def stopping(self) -> None:
        self.send("STOPPING=1")
        if self._socket is not None:
            self._socket.close()
            self._socket = None
