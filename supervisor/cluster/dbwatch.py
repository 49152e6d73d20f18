"""Watching the database: the end of an outage wakes every loop; a dead embedded one restarts."""

from __future__ import annotations

import asyncio
import logging

import anyio
from anyio.abc import TaskStatus

from supervisor.cluster.listener import WakeHub
from supervisor.runtime.supervise import ServiceFailed
from supervisor.runtime.waiting import DbHealth, wait_any
from supervisor.store.db import connect
from supervisor.store.embedded import EmbeddedServer

log = logging.getLogger("supervisor.cluster.dbwatch")
PROBE_SECONDS = 0.5  # while the database is away, how often a fresh connection is tried


class DbWatch:
    """While any loop reports the database away, probes it; on the first answer wakes them all."""

    def __init__(self, dsn: str, health: DbHealth, hub: WakeHub,
                 interval: float = PROBE_SECONDS) -> None:
        self.dsn = dsn
        self.health = health
        self.hub = hub
        self.interval = interval

    async def probe(self) -> bool:
        """One fresh connection and a trivial query: does PostgreSQL answer now?"""
        try:
            with anyio.fail_after(max(2.0, self.interval * 4)):
                conn = await connect(self.dsn)
                try:
                    await conn.fetchval("SELECT 1")
                finally:
                    conn.terminate()
        except Exception:  # any failure means 'not yet'; the loops log their own errors
            return False
        return True

    async def run(
        self, stopping: asyncio.Event, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Watch until `stopping`."""
        task_status.started()
        failed = 0
        while not stopping.is_set():
            await wait_any(self.health.down, stopping)
            if stopping.is_set():
                return
            if await self.probe():
                self.health.restored(was_away=failed > 0)
                # Notifications sent while we were away are lost: every runner looks again.
                self.hub.wake_all()
                if failed:
                    log.info("database answers again: waking every loop", extra={
                        "action": "db_back", "outages": self.health.outages})
                failed = 0
            else:
                failed += 1
                await wait_any(stopping, timeout=self.interval)


class EmbeddedWatch:
    """Keeps the embedded PostgreSQL this daemon started running: restarts it when it dies.

    If it does not come back after `attempts` tries, the daemon exits (status 70), so systemd or
    the container runtime restarts the whole process instead of it waiting forever.
    """

    def __init__(self, server: EmbeddedServer, health: DbHealth, *, interval: float = 1.0,
                 attempts: int = 3) -> None:
        self.server = server
        self.health = health
        self.interval = interval
        self.attempts = attempts
        self.restarts = 0

    async def run(
        self, stopping: asyncio.Event, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Check every `interval` until `stopping`."""
        task_status.started()
        while not await wait_any(stopping, timeout=self.interval):
            if await anyio.to_thread.run_sync(self.server.alive):
                continue
            self.health.lost()
            log.error("the embedded PostgreSQL is not running: restarting it", extra={
                "action": "embedded_pg_died", "pgdata": str(self.server.pgdata)})
            await self._restart(stopping)

    async def _restart(self, stopping: asyncio.Event) -> None:
        last: Exception | None = None
        for attempt in range(1, self.attempts + 1):
            try:
                await anyio.to_thread.run_sync(self.server.restart)
            except Exception as exc:  # whatever pg_ctl says, the policy below decides
                last = exc
                log.error("could not restart the embedded PostgreSQL", extra={
                    "action": "embedded_pg_restart", "attempt": attempt, "error": str(exc)})
                if await wait_any(stopping, timeout=2.0 * attempt):
                    return
                continue
            self.restarts += 1
            log.warning("the embedded PostgreSQL runs again", extra={
                "action": "embedded_pg_restarted", "restarts": self.restarts})
            return
        raise ServiceFailed(
            f"the embedded PostgreSQL in {self.server.pgdata} stopped and did not start again "
            f"after {self.attempts} tries: {last}")
