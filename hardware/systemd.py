"""systemd service notifications (``sd_notify``): readiness, watchdog, status.

The unit in ``hardware/deploy/edgeqi-node.service`` is ``Type=notify`` with
``WatchdogSec``: systemd restarts the node if it stops sending ``WATCHDOG=1``, which
catches a hung camera or inference loop that a crash-only restart would miss. The
protocol is one datagram per message to the socket in ``$NOTIFY_SOCKET``
(sd_notify(3)); outside systemd the variable is unset and every call does nothing.
"""

from __future__ import annotations

import os
import socket


class Notifier:
    """Sends ``KEY=value`` lines to systemd when run under a notify-type unit."""

    def __init__(self, address: str | None = None) -> None:
        addr = address if address is not None else os.environ.get("NOTIFY_SOCKET")
        # An address starting with "@" is in the abstract namespace (a leading NUL byte).
        self.address = None if not addr else ("\0" + addr[1:] if addr.startswith("@") else addr)

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def notify(self, *lines: str) -> bool:
        """Send the lines as one message; ``False`` when not under systemd or not delivered
        (a vanished notify socket must not stop the node)."""
        if self.address is None:
            return False
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            try:
                sock.sendto("\n".join(lines).encode(), self.address)
            except OSError:
                return False
        return True

    def ready(self, status: str = "running") -> bool:
        return self.notify("READY=1", f"STATUS={status}")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    @staticmethod
    def watchdog_interval_s() -> float | None:
        """Half the watchdog timeout systemd set for this process (``None``: no watchdog)."""
        usec = os.environ.get("WATCHDOG_USEC")
        pid = os.environ.get("WATCHDOG_PID")
        if not usec or (pid and int(pid) != os.getpid()):
            return None
        return int(usec) / 2e6
