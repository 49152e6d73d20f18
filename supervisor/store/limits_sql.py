"""The claim for job types with concurrency limits: per process and across every process."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from supervisor.store.sql import q

if TYPE_CHECKING:
    from supervisor.store.ports import TypeCap


async def claim_capped(conn: asyncpg.Connection | PoolConnectionProxy, lane: str, node_id: UUID,
                       limit: int, caps: Sequence[TypeCap]) -> list[asyncpg.Record]:
    """One claim in which each capped type takes at most its room.

    Types with a global limit are locked (a transaction advisory lock each, in name order, so
    two claimers never deadlock) before the claim counts what every process holds of them:
    the count and the claim then see every earlier claim of those types, committed. Without a
    global limit there is nothing to lock, and the claim is one statement.
    """
    ordered = sorted(caps, key=lambda c: c.job_type)
    locked = [c.job_type for c in ordered if c.global_limit is not None]
    query = q("claim_open_capped") if lane == "first_time" else q("claim_retry_capped")
    args = (node_id, limit, [c.job_type for c in ordered], [c.room for c in ordered],
            [c.global_limit for c in ordered])
    if not locked:
        # Per-process limits only: one statement is its own transaction (one round trip).
        rows: list[asyncpg.Record] = await conn.fetch(query, *args)
        return rows
    async with conn.transaction():
        await conn.execute(q("lock_type_limits"), locked)
        rows = await conn.fetch(query, *args)
    return rows
