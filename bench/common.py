"""Shared bench plumbing: a scratch database on the configured server, and small statistics."""

from __future__ import annotations

import os
import statistics
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from supervisor.families import discover
from supervisor.store.migrate import migrate

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"


def server_dsn() -> str:
    """DATABASE_URL, or the local test server."""
    return os.environ.get("DATABASE_URL", DEFAULT_DSN)


def _with_db(dsn: str, name: str) -> str:
    p = urlsplit(dsn)
    return urlunsplit((p.scheme, p.netloc, "/" + name, p.query, p.fragment))


@asynccontextmanager
async def scratch_database(prefix: str = "bench") -> AsyncIterator[str]:
    """A migrated database that exists for the duration of the block."""
    admin_dsn = server_dsn()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = _with_db(admin_dsn, name)
    try:
        conn = await asyncpg.connect(dsn)
        try:
            await migrate(conn, discover().migration_sources())
        finally:
            await conn.close()
        yield dsn
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def percentile(values: list[float], pct: float) -> float:
    """The pct-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered)) - 1))
    return ordered[rank]


def median(values: list[float]) -> float:
    """The median."""
    return float(statistics.median(values))


def row(label: str, ours: str, other: str = "", note: str = "") -> str:
    """One aligned line of a result table."""
    return f"{label:<44} {ours:>16} {other:>18}  {note}"
