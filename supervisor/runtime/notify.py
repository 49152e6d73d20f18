"""systemd's sd_notify protocol over a unix datagram socket, plus a health-gated watchdog."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable

import anyio
import anyio.abc

log = logging.getLogger(__name__)

# How often STATUS= is refreshed when systemd asked for no watchdog pings.
STATUS_ONLY_INTERVAL = 10.0


def _socket_address(raw: str) -> str | bytes:
    """NOTIFY_SOCKET as a sendto() address: `@name` means the Linux abstract namespace."""
    if raw.startswith("@"):
        return b"\0" + raw[1:].encode()
    return raw


class Notifier:
    """Sends sd_notify datagrams to NOTIFY_SOCKET; does nothing when it is unset."""

    def __init__(self, address: str | None = None, *, unset_environment: bool = False) -> None:
        """Use `address`, else env NOTIFY_SOCKET; unset_environment hides it from children."""
        raw = os.environ.get("NOTIFY_SOCKET", "") if address is None else address
        if unset_environment:
            # Children (e.g. an embedded PostgreSQL) would otherwise notify on our behalf.
            os.environ.pop("NOTIFY_SOCKET", None)
        self._address: str | bytes | None = _socket_address(raw) if raw else None

    @property
    def enabled(self) -> bool:
        """Whether there is a socket to notify."""
        return self._address is not None

    def send(self, **fields: object) -> bool:
        """Send KEY=value lines in one datagram; True if it was sent, errors are only logged."""
        if self._address is None or not fields:
            return False
        # A newline would start a new field, so a STATUS text could inject e.g. READY=1.
        lines = (f"{key}={str(value).replace(chr(10), ' ')}" for key, value in fields.items())
        payload = "\n".join(lines).encode()
        try:
            # A socket per message, as libsystemd does: nothing to leak, close or share.
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.setblocking(False)
                sock.sendto(payload, self._address)
        except OSError as exc:
            log.warning(
                "sd_notify failed",
                extra={"action": "notify", "fields": ",".join(fields), "error": repr(exc)},
            )
            return False
        return True

    def ready(self) -> bool:
        """Tell systemd start-up is complete (Type=notify)."""
        return self.send(READY=1)

    def stopping(self) -> bool:
        """Tell systemd a clean shutdown has begun."""
        return self.send(STOPPING=1)

    def status(self, text: str) -> bool:
        """Set the one-line status shown by `systemctl status`."""
        return self.send(STATUS=text)

    def watchdog(self) -> bool:
        """Ping the service watchdog."""
        return self.send(WATCHDOG=1)

    def extend_timeout(self, seconds: float) -> bool:
        """Ask for more start/stop time, e.g. while an embedded PostgreSQL initialises."""
        return self.send(EXTEND_TIMEOUT_USEC=int(seconds * 1_000_000))


def watchdog_interval() -> float | None:
    """Seconds between pings (half of WATCHDOG_USEC), or None if no watchdog is meant for us."""
    pid = os.environ.get("WATCHDOG_PID", "").strip()
    if pid and pid != str(os.getpid()):
        return None
    try:
        usec = int(os.environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 2 / 1_000_000 if usec > 0 else None


class Watchdog:
    """Pings WATCHDOG=1 only while is_healthy() says so, and keeps STATUS= current."""

    def __init__(
        self,
        notifier: Notifier,
        is_healthy: Callable[[], Awaitable[bool]],
        status_text: Callable[[], Awaitable[str]],
        interval: float | None = None,
    ) -> None:
        """Ping only if systemd configured a watchdog; `interval` overrides the cadence."""
        configured = watchdog_interval()
        self.pings = configured is not None
        self.interval = interval or configured or STATUS_ONLY_INTERVAL
        self._notifier = notifier
        self._is_healthy = is_healthy
        self._status_text = status_text
        self._healthy: bool | None = None

    async def run(
        self,
        stopping: asyncio.Event,
        *,
        task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Check health and notify every interval until `stopping` is set."""
        task_status.started()
        while not stopping.is_set():
            await self.tick()
            with anyio.move_on_after(self.interval):
                await stopping.wait()

    async def tick(self) -> bool:
        """One round: ping if healthy, always send STATUS; returns the health verdict."""
        healthy = await self._check()
        if healthy and self.pings:
            self._notifier.watchdog()
        self._notifier.status(await self._status())
        return healthy

    async def _check(self) -> bool:
        """is_healthy(), where a hang past one interval or an exception counts as unhealthy."""
        healthy = False
        try:
            with anyio.move_on_after(self.interval):
                healthy = bool(await self._is_healthy())
        except Exception:
            log.exception("health check raised", extra={"action": "watchdog"})
        if healthy != self._healthy:
            # Log transitions only: a sick process would otherwise log every few seconds.
            level = logging.INFO if healthy else logging.WARNING
            text = "healthy, pinging watchdog" if healthy else "unhealthy, watchdog pings held"
            log.log(level, text, extra={"action": "watchdog", "pings": self.pings})
            self._healthy = healthy
        return healthy

    async def _status(self) -> str:
        """status_text(), or a placeholder when it hangs or fails."""
        try:
            with anyio.move_on_after(self.interval):
                return await self._status_text()
        except Exception:
            log.exception("status text raised", extra={"action": "watchdog"})
            return "status unavailable"
        return "status unavailable (timed out)"
