"""An export's rows from PostgreSQL: CSV lines, newest uuid first, in pages, from one snapshot.

Each half of the uuid range is read by its own cursor on its own connection, both in one
exported snapshot (pg_export_snapshot), so the file is still the rows of one instant. PostgreSQL
never runs a cursor's query with parallel workers; two cursors let the second half scan and sort
while the first one streams, as COPY TO's parallel workers do. Without a spare connection at
once, one cursor reads the whole range.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncGenerator
from contextlib import AsyncExitStack
from typing import Any
from uuid import UUID

import asyncpg

from services.contacts.query import HAS_TRIGRAM
from services.contacts.vql import Vql
from services.contacts.vql.fields import fields_of
from services.contacts.vql.sql import csv_query

SORT_MEMORY = "64MB"  # work_mem of an export's transactions: its uuid sort stays in memory
SPARE_WAIT = 0.5  # seconds to wait for a second connection before reading with one
HALVES = [(UUID(int=2**127), UUID(int=2**128 - 1)), (UUID(int=0), UUID(int=2**127 - 1))]
WHOLE = [(UUID(int=0), UUID(int=2**128 - 1))]
_SNAPSHOT_ID = re.compile(r"^[0-9A-Fa-f-]{1,64}$")


async def _begin(stack: AsyncExitStack, conn: Any, snapshot: str | None) -> None:
    await stack.enter_async_context(conn.transaction(isolation="repeatable_read",
                                                     readonly=True))
    if snapshot is not None:
        # The id comes from pg_export_snapshot() (checked), never from a request; SET
        # TRANSACTION SNAPSHOT takes no bind parameter.
        if not _SNAPSHOT_ID.match(snapshot):
            raise RuntimeError(f"unexpected snapshot id {snapshot!r}")
        await conn.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
    await conn.execute(f"SET LOCAL work_mem = '{SORT_MEMORY}'")


async def _spare(db: asyncpg.Pool, stack: AsyncExitStack) -> Any:
    try:
        return await stack.enter_async_context(db.acquire(timeout=SPARE_WAIT))
    except TimeoutError:
        return None


async def _connections(db: asyncpg.Pool, stack: AsyncExitStack) -> list[Any]:
    """One or two connections in transactions on the same snapshot."""
    first = await stack.enter_async_context(db.acquire())
    await _begin(stack, first, None)
    second = await _spare(db, stack)
    if second is None:
        return [first]
    await _begin(stack, second, await first.fetchval("SELECT pg_export_snapshot()"))
    return [first, second]


async def csv_pages(db: asyncpg.Pool, vql: Vql, service: str, *, neutralise: bool,
                    batch: int) -> AsyncGenerator[list[str], None]:
    """Pages of at most `batch` CSV lines; vql.limit caps the total."""
    fields = fields_of(service)
    left = vql.limit or None
    async with AsyncExitStack() as stack:
        conns = await _connections(db, stack)
        trigram = bool(await conns[0].fetchval(HAS_TRIGRAM))
        ranges = HALVES if len(conns) == 2 else WHOLE
        cursors = []
        for conn, (lo, hi) in zip(conns, ranges, strict=True):
            q = csv_query(vql, service, fields, neutralise=neutralise, lo=lo, hi=hi,
                          trigram=trigram)
            cursors.append(await conn.cursor(q.sql, *q.args))
        # Every cursor starts its scan and sort now; the later ones are ready when needed.
        ahead = [asyncio.ensure_future(c.fetch(batch)) for c in cursors]
        try:
            for i, cursor in enumerate(cursors):
                while rows := await ahead[i]:
                    ahead[i] = asyncio.ensure_future(cursor.fetch(batch))
                    lines = [r[0] for r in rows]
                    if left is not None:
                        lines, left = lines[:left], left - len(lines[:left])
                    yield lines
                    if left == 0:
                        return
        finally:
            for fut in ahead:
                if not fut.done():
                    fut.cancel()
                with contextlib.suppress(asyncio.CancelledError, asyncpg.PostgresError):
                    await fut
