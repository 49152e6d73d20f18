"""This process in the registry (heartbeat), and the rescue of jobs dead processes held."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID, uuid4

import anyio
from anyio.abc import TaskStatus

from supervisor.cluster.listener import WakeHub
from supervisor.metrics import JOBS_RESCUED
from supervisor.runtime.loops import every
from supervisor.store.nodes import NodeStore

log = logging.getLogger("supervisor.cluster.node")


class Node:
    """Registers this process, heartbeats with live figures, and marks it stopped at the end."""

    def __init__(self, store: NodeStore, roles: Sequence[str], interval: float,
                 info: Callable[[], dict[str, Any]] | None = None) -> None:
        self.id: UUID = uuid4()
        self.store = store
        self.roles = list(roles)
        self.interval = interval
        self.hostname = socket.gethostname()
        self.pid = os.getpid()
        self.info = info or dict

    async def register(self) -> None:
        """Record this process before it claims anything."""
        await self.store.register(self.id, self.hostname, self.pid, self.roles)

    async def beat(self) -> None:
        """One heartbeat."""
        await self.store.heartbeat(self.id, self.hostname, self.pid, self.roles, self.info())

    async def run(
        self, stopping: asyncio.Event, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Heartbeat until `stopping`."""
        task_status.started()
        await every(self.interval, self.beat, stopping, log=log, action="heartbeat")

    async def stopped(self) -> None:
        """Mark this process as cleanly stopped, so nobody waits for its heartbeat to age."""
        with anyio.move_on_after(5, shield=True):
            await self.store.stop(self.id)


class Rescuer:
    """Puts back jobs whose owning process stopped heartbeating (crash, kill -9, power loss)."""

    def __init__(self, store: NodeStore, hub: WakeHub, *, interval: float, stale_seconds: float,
                 rescue_limit: int = 3) -> None:
        self.store = store
        self.hub = hub
        self.interval = interval
        self.stale_seconds = stale_seconds
        self.rescue_limit = rescue_limit

    async def rescue_once(self) -> int:
        """One pass; returns how many jobs moved."""
        rows = await self.store.rescue(self.stale_seconds, self.rescue_limit)
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
