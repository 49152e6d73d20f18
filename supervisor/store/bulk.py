"""Cancel or re-run every job matching a filter, in batches (API and CLI bulk commands)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from supervisor.store.jobs import JobStore
from supervisor.store.sql import q

CANCELLABLE = ("open", "in_queue", "processing", "failed", "retry_in_queued")
RETRYABLE = ("failed", "dead", "cancelled")
HELD = ("in_queue", "processing", "retry_in_queued")
BATCH = 1000


@dataclass(frozen=True)
class JobFilter:
    """Which jobs a bulk change applies to; states default to every state it can apply to."""

    statuses: Sequence[str] = ()
    job_type: str | None = None
    created_before: datetime | None = None

    def states(self, applicable: Sequence[str]) -> list[str]:
        """The filter's states that the change can apply to."""
        return [s for s in applicable if not self.statuses or s in self.statuses]


async def cancel_matching(store: JobStore, flt: JobFilter, batch: int = BATCH) -> int:
    """Cancel every matching job that has not ended; running ones are interrupted."""
    states = flt.states(CANCELLABLE)
    total = 0
    while states:
        async with store.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(q("cancel_jobs_matching"), states, flt.job_type,
                                    flt.created_before, batch)
            held = [str(r["uuid"]) for r in rows if r["was"] in HELD]
            if held:
                await conn.fetchval(q("notify_cancelled"), held)
        for uuid in held:
            await store._announce(f"cancel:{uuid}")
        total += len(rows)
        if len(rows) < batch:
            break
    return total


async def retry_matching(store: JobStore, flt: JobFilter, batch: int = BATCH) -> int:
    """Re-open every matching failed, dead or cancelled job at once, retries renewed."""
    states = flt.states(RETRYABLE)
    total = 0
    started = await store.pool.fetchval(q("database_now"))
    while states:
        async with store.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(q("retry_jobs_matching"), states, flt.job_type,
                                    flt.created_before, batch, started)
            if rows:
                await conn.execute(q("notify_jobs"), "open")
        if rows:
            await store._announce("open")
        total += len(rows)
        if len(rows) < batch:
            break
    return total
