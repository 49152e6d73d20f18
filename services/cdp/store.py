"""The PostgreSQL store of events, sessions, profiles and sources; the only cdp code with SQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from services.cdp.model import Event, dumps
from supervisor.store.sql import Queries

Conn = asyncpg.Connection | PoolConnectionProxy


QUERIES = Queries("services.cdp.sql")


def q(name: str) -> str:
    """The SQL text of one named cdp query."""
    return QUERIES.q(name)


def month_of(moment: datetime) -> tuple[int, int]:
    """The (year, month) partition an event time falls in."""
    return moment.year, moment.month


def event_rows(events: Sequence[Event]) -> list[list[Any]]:
    """The columns of cdp_insert_events for a batch of events."""
    cols: list[list[Any]] = [[] for _ in range(8)]
    for e in events:
        if not e.persistent:
            continue
        for col, value in zip(cols, (e.id, e.insert_time, e.type, e.status, e.source_id,
                                     e.session_id, e.profile_id,
                                     e.raw if e.raw is not None else dumps(e.document())),
                              strict=True):
            col.append(value)
    return cols


class CdpStore:
    """Events, sessions and profiles in PostgreSQL (events partitioned by month)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._months: set[tuple[int, int]] = set()

    async def ensure_partitions(self, times: Iterable[datetime]) -> None:
        """Create the monthly partitions these event times need (once per process and month)."""
        missing = {month_of(t): t for t in times if month_of(t) not in self._months}
        if not missing:
            return
        async with self.pool.acquire() as conn:
            for month, moment in sorted(missing.items()):
                await conn.execute(q("cdp_ensure_partition"), moment)
                self._months.add(month)

    def forget_partitions(self) -> None:
        """Drop the cache of known months (after partitions were dropped)."""
        self._months.clear()

    async def insert_events(self, conn: Conn, events: Sequence[Event]) -> int:
        """Store the persistent events of a batch on `conn`; returns how many were new."""
        cols = event_rows(events)
        if not cols[0]:
            return 0
        rows = await conn.fetch(q("cdp_insert_events"), *cols)
        return len(rows)

    async def add_source(self, source_id: str, name: str) -> asyncpg.Record:
        """Register (or rename) an event source allowed to POST /track without an API key."""
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(q("cdp_source_add"), source_id, name)
        assert row is not None
        return row

    async def list_sources(self) -> list[asyncpg.Record]:
        """Every registered source."""
        async with self.pool.acquire() as conn:
            return list(await conn.fetch(q("cdp_source_list")))

    async def source_exists(self, source_id: str) -> bool:
        """Whether a source id is registered."""
        async with self.pool.acquire() as conn:
            return bool(await conn.fetchval(q("cdp_source_exists"), source_id))

    async def event(self, event_id: str) -> dict[str, Any] | None:
        """One event document by id."""
        async with self.pool.acquire() as conn:
            doc: dict[str, Any] | None = await conn.fetchval(q("cdp_get_event"), event_id)
        return doc

    async def session(self, session_id: str) -> asyncpg.Record | None:
        """A session row: doc, status, profile_id, times."""
        async with self.pool.acquire() as conn:
            return await conn.fetchrow(q("cdp_get_session"), session_id)

    async def profile(self, profile_id: str) -> asyncpg.Record | None:
        """A profile row: doc, active, visit_count, times."""
        async with self.pool.acquire() as conn:
            return await conn.fetchrow(q("cdp_get_profile"), profile_id)

    async def session_events(self, session_id: str) -> list[asyncpg.Record]:
        """A session's events in time order."""
        async with self.pool.acquire() as conn:
            return list(await conn.fetch(q("cdp_session_events"), session_id))
