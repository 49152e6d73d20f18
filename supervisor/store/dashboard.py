"""Reads only the dashboard makes: a lean job list with uuid search, and recent throughput."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg

from supervisor.store.sql import q

THROUGHPUT_WINDOW = 100_000  # newest jobs the per-minute chart looks at (a bounded scan)


class DashboardStore:
    """Dashboard queries over an asyncpg pool; every write goes through the job store."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def list_jobs(
        self, *, statuses: Sequence[str] | None, job_type: str | None, uuid_part: str | None,
        before_id: int | None, limit: int,
    ) -> list[asyncpg.Record]:
        """Newest jobs first, filtered by state, type and a piece of the uuid."""
        rows: list[asyncpg.Record] = await self.pool.fetch(
            q("ui_list_jobs"), list(statuses) if statuses else None, job_type, uuid_part,
            before_id, limit)
        return rows

    async def throughput(self, window: int = THROUGHPUT_WINDOW) -> list[tuple[int, int, int]]:
        """(minute as epoch seconds, completed, failed) for each of the last 60 minutes."""
        rows = await self.pool.fetch(q("ui_throughput"), window)
        found = {int(r["minute"]): (int(r["completed"]), int(r["failed"])) for r in rows}
        now = int(datetime.now(UTC).timestamp()) // 60 * 60
        return [(m, *found.get(m, (0, 0))) for m in range(now - 59 * 60, now + 1, 60)]
