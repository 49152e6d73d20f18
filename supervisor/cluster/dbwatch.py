"""Notices the end of a database outage at once and wakes every loop that waits to retry."""

from __future__ import annotations

import asyncio
import logging

import anyio
from anyio.abc import TaskStatus

from supervisor.cluster.listener import WakeHub
from supervisor.runtime.waiting import DbHealth, wait_any
from supervisor.store.db import connect

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
        while not stopping.is_set():
            await wait_any(self.health.down, stopping)
            if stopping.is_set():
                return
            if await self.probe():
                self.health.restored()
                # Notifications sent while we were away are lost: every runner looks again.
                self.hub.wake_all()
                log.info("database answers again: waking every loop", extra={
                    "action": "db_back", "outages": self.health.outages})
            else:
                await wait_any(stopping, timeout=self.interval)
