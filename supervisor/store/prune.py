"""Deleting finished work in small batches, one process at a time across the cluster."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from supervisor.retention import JOB_STATES
from supervisor.store.sql import q

TARGETS = (*JOB_STATES, "schedule_events", "nodes")


class PruneStore:
    """One batch per call, in its own transaction, under the cluster-wide prune lock."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def prune_batch(self, target: str, older_than: timedelta, batch: int) -> int | None:
        """Delete up to `batch` rows of `target` older than `older_than`.

        Returns how many were deleted, or None when another process is pruning right now.
        """
        seconds = older_than.total_seconds()
        async with self.pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval(q("prune_lock")):
                return None
            if target in JOB_STATES:
                status = await conn.execute(q("prune_jobs"), target, seconds, batch)
            elif target == "schedule_events":
                status = await conn.execute(q("prune_schedule_events"), seconds, batch)
            elif target == "nodes":
                status = await conn.execute(q("prune_stopped_nodes"), seconds, batch)
            else:
                raise ValueError(f"unknown prune target {target!r}; one of {', '.join(TARGETS)}")
        return int(status.split()[-1])
