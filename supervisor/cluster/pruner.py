"""The prune service: deletes finished jobs, old schedule events and stopped nodes."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import anyio
from anyio.abc import TaskStatus

from supervisor.runtime.liveness import beat
from supervisor.runtime.loops import every
from supervisor.store.prune import PruneStore

log = logging.getLogger("supervisor.cluster.pruner")
PAUSE_SECONDS = 0.05  # between batches, so pruning never hogs the database


class Pruner:
    """Every `interval`, deletes in batches whatever outlived its retention."""

    def __init__(self, store: PruneStore, retention: dict[str, timedelta | None], *,
                 interval: float, batch: int, pause: float = PAUSE_SECONDS) -> None:
        self.store = store
        self.retention = retention
        self.interval = interval
        self.batch = batch
        self.pause = pause
        self.stopping = asyncio.Event()  # the service's, once it runs: a long pass ends early

    async def prune_once(self) -> dict[str, int] | None:
        """One pass over every target; rows deleted per target, None if another process is."""
        deleted: dict[str, int] = {}
        for target, keep in self.retention.items():
            if keep is None:
                continue
            total = await self.prune_target(target, keep)
            if total is None:
                log.debug("another process is pruning", extra={"action": "prune_skip"})
                return None
            deleted[target] = total
        if any(deleted.values()):
            log.info("pruned finished work", extra={"action": "prune", **deleted})
        return deleted

    async def prune_target(self, target: str, older_than: timedelta) -> int | None:
        """Batches until fewer than a batch remain; None if the lock is held elsewhere."""
        total = 0
        while True:
            beat(self.interval)
            n = await self.store.prune_batch(target, older_than, self.batch)
            if n is None:
                return None if total == 0 else total
            total += n
            if n < self.batch or self.stopping.is_set():
                return total
            await anyio.sleep(self.pause)

    async def run(
        self, stopping: asyncio.Event, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Prune every `interval` until `stopping`."""
        self.stopping = stopping
        task_status.started()
        await every(self.interval, self.prune_once, stopping, log=log, action="prune")
