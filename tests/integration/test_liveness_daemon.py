"""A wedged service makes the daemon unhealthy (no watchdog ping), and it recovers after."""

from __future__ import annotations

import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from supervisor.config import Config
from supervisor.daemon import Daemon, Runtime
from supervisor.runtime.notify import Notifier, Watchdog
from tests.helpers import eventually, families_with, running_daemon


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A datagram socket for sd_notify, with a watchdog configured for this process."""
    path = Path(tempfile.mkdtemp(prefix="sdn-")) / "n.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setenv("WATCHDOG_USEC", "60000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    yield sock
    sock.close()
    path.unlink(missing_ok=True)
    path.parent.rmdir()


def _drain(sock: socket.socket) -> list[str]:
    got: list[str] = []
    while True:
        try:
            got.append(sock.recv(4096).decode())
        except BlockingIOError:
            return got


async def test_a_runner_stuck_on_a_lock_holds_the_watchdog_until_it_moves_again(
    config: Config, pool: asyncpg.Pool, inbox: socket.socket,
) -> None:
    daemon = Daemon(config, families_with(), only=["rescue", "first_time"])
    async with running_daemon(daemon):
        rt = daemon.runtime
        assert isinstance(rt, Runtime)
        # The runners poll every 0.2 s here; a 1 s floor keeps a busy test machine from
        # looking wedged while still noticing the lock quickly.
        rt.liveness.floor = 1.0
        watchdog = Watchdog(Notifier(), lambda: daemon.healthy(rt), lambda: daemon.status_line(rt))
        assert watchdog.pings
        await eventually(lambda: daemon.healthy(rt), what="healthy at first")

        async def wedged() -> bool:
            # Both loops: the rescue loop first waits out one stale window after the start
            # (it never judges others before every live process could heartbeat), so it may
            # reach the lock a moment after the runner.
            stuck = {"first_time", "rescue"} <= set(rt.liveness.stale())
            return stuck and not await daemon.healthy(rt)

        async with pool.acquire() as conn:
            locked = conn.transaction()
            await locked.start()
            # Every claim and rescue statement now waits on this lock: the database still
            # answers SELECT 1, so only the liveness rule can tell the process is stuck.
            await conn.execute("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE")
            try:
                await eventually(wedged, what="unhealthy while wedged")
                assert {"first_time", "rescue"} <= set(rt.liveness.stale())
                _drain(inbox)
                assert await watchdog.tick() is False
                sent = _drain(inbox)
                assert "WATCHDOG=1" not in sent
                assert any(m.startswith("STATUS=") and "STALLED: " in m and "first_time" in m
                           for m in sent), sent
            finally:
                await locked.rollback()

        await eventually(lambda: daemon.healthy(rt), what="healthy again once the lock is gone")
        _drain(inbox)
        assert await watchdog.tick() is True
        assert "WATCHDOG=1" in _drain(inbox)

