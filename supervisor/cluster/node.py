"""This process in the registry (heartbeat), and the rescue of jobs dead processes held."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from uuid import UUID, uuid4

import anyio
from anyio.abc import TaskStatus

from supervisor.cluster.listener import WakeHub
from supervisor.metrics import JOBS_RESCUED
from supervisor.runtime.loops import every
from supervisor.runtime.waiting import DbHealth, current_health, wait_any, wait_retry
from supervisor.store.db import is_transient
from supervisor.store.nodes import NodeStore

log = logging.getLogger("supervisor.cluster.node")


class Node:
    """Registers this process, heartbeats with live figures, and marks it stopped at the end."""

    def __init__(self, store: NodeStore, roles: Sequence[str], interval: float,
                 info: Callable[[], dict[str, Any]] | None = None, *,
                 stale_seconds: float = 30.0,
                 on_return: Callable[[], Awaitable[Any]] | None = None) -> None:
        self.id: UUID = uuid4()
        self.store = store
        self.roles = list(roles)
        self.interval = interval
        self.hostname = socket.gethostname()
        self.pid = os.getpid()
        self.info = info or dict
        self.stale_seconds = stale_seconds
        # Called after a heartbeat that ends a gap others may have taken for death.
        self.on_return = on_return
        self._last_beat = time.monotonic()
        self._missed = False
        self._outages = 0
        self._check_due = asyncio.Event()

    async def register(self) -> None:
        """Record this process before it claims anything."""
        await self.store.register(self.id, self.hostname, self.pid, self.roles)

    async def beat(self) -> None:
        """One heartbeat; after a long gap, also find out which held jobs others took."""
        gap = time.monotonic() - self._last_beat
        try:
            await self.store.heartbeat(self.id, self.hostname, self.pid, self.roles, self.info())
        except Exception:
            self._missed = True
            raise
        self._last_beat = time.monotonic()
        health = current_health()
        outages = health.outages if health is not None else 0
        # Half the stale window: the database's clock, not ours, judged us, so be early. Any
        # outage another loop saw counts too: a claim may have committed with its answer lost.
        returning = self._missed or gap > self.stale_seconds / 2 or outages != self._outages
        if returning and self.on_return is not None:
            self._check_due.set()  # in its own task: a slow check must never delay a heartbeat
        self._missed, self._outages = False, outages

    async def run(
        self, stopping: asyncio.Event, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Heartbeat until `stopping`."""
        task_status.started()
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._checks, stopping)
            await every(self.interval, self.beat, stopping, log=log, action="heartbeat")
            self._check_due.set()

    async def _checks(self, stopping: asyncio.Event) -> None:
        """Run the after-a-gap check whenever a heartbeat asks for it, until `stopping`."""
        while True:
            await wait_any(self._check_due, stopping)
            if stopping.is_set():
                return
            self._check_due.clear()
            if self.on_return is None:
                continue
            try:
                await self.on_return()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning("cannot check held jobs yet, retrying", extra={
                    "action": "held_check", "error": str(exc)})
                self._check_due.set()
                await wait_retry(self.interval, stopping)

    async def stopped(self) -> None:
        """Mark this process as cleanly stopped, so nobody waits for its heartbeat to age."""
        with anyio.move_on_after(5, shield=True):
            await self.store.stop(self.id)


class Rescuer:
    """Puts back jobs whose owning process stopped heartbeating (crash, kill -9, power loss)."""

    def __init__(self, store: NodeStore, hub: WakeHub, *, interval: float, stale_seconds: float,
                 rescue_limit: int = 3, node_id: UUID | None = None,
                 health: DbHealth | None = None) -> None:
        self.store = store
        self.hub = hub
        self.interval = interval
        self.stale_seconds = stale_seconds
        self.rescue_limit = rescue_limit
        self.node_id = node_id
        self.health = health
        self._up_since: float | None = None

    def settled(self) -> bool:
        """Has the database answered us for a whole stale window?

        After an outage every process's heartbeat is old: only once the database has answered
        for NODE_STALE_SECONDS has each live process had the time to heartbeat again, so only
        then does an old heartbeat mean a dead process (start-up counts as such a return).
        """
        now = time.monotonic()
        if self._up_since is None:
            self._up_since = now
        health = self.health or current_health()
        up_for = now - self._up_since
        if health is not None:
            up_for = min(up_for, health.settled_for())
        return up_for >= self.stale_seconds

    async def rescue_once(self) -> int:
        """One pass; returns how many jobs moved."""
        if not self.settled():
            return 0
        try:
            rows = await self.store.rescue(self.stale_seconds, self.rescue_limit, self.node_id)
        except Exception:
            self._up_since = None
            raise
        for row in rows:
            JOBS_RESCUED.labels(row["status"]).inc()
            log.warning("rescued job from a dead process", extra={
                "action": "rescue", "job": str(row["uuid"]), "status": row["status"],
                "was_running": row["was_running"]})
        if rows:
            self.hub.wake_all()
        return len(rows)

    async def run(
        self, stopping: asyncio.Event, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Rescue every `interval` until `stopping`."""
        task_status.started()
        await every(self.interval, self.rescue_once, stopping, log=log, action="rescue")
