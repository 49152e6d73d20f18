"""Numbered SQL migrations of the runtime and of each family, each applied once and recorded."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

import asyncpg
from asyncpg.pool import PoolConnectionProxy

log = logging.getLogger("supervisor.migrate")
_FILE = re.compile(r"^(\d{4})_(\w+)\.sql$")
# One lock id for the whole product, so concurrent starts migrate one at a time.
_LOCK_ID = 7_415_202_611
Conn = asyncpg.Connection | PoolConnectionProxy
RUNTIME_SOURCE = ("supervisor", "supervisor.store.migrations")


@dataclass(frozen=True)
class Migration:
    """One numbered SQL file of one family (the runtime's own are family 'supervisor')."""

    family: str
    version: int
    name: str
    sql: str


def available(sources: Sequence[tuple[str, str]] = ()) -> list[Migration]:
    """Every migration of the runtime, then of each (family, package) source, in order."""
    found: list[Migration] = []
    for family, package in [RUNTIME_SOURCE, *sources]:
        mine = []
        for entry in resources.files(package).iterdir():
            match = _FILE.match(entry.name)
            if match:
                mine.append(Migration(family, int(match[1]), match[2], entry.read_text()))
        mine.sort(key=lambda m: m.version)
        versions = [m.version for m in mine]
        if len(set(versions)) != len(versions):
            raise RuntimeError(f"two migrations of {family} share a number: {versions}")
        found.extend(mine)
    return found


async def _ensure_table(conn: Conn) -> None:
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " family text NOT NULL DEFAULT 'supervisor', version integer NOT NULL,"
        " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(),"
        " PRIMARY KEY (family, version))"
    )
    # A database from before families had one key, the version: give it the family column.
    if not await conn.fetchval(
        "SELECT 1 FROM information_schema.columns WHERE table_name = 'schema_migrations'"
        " AND column_name = 'family' AND table_schema = current_schema()"
    ):
        await conn.execute(
            "ALTER TABLE schema_migrations ADD COLUMN family text NOT NULL DEFAULT 'supervisor';"
            "ALTER TABLE schema_migrations DROP CONSTRAINT schema_migrations_pkey,"
            " ADD PRIMARY KEY (family, version)"
        )


async def applied(conn: Conn) -> set[tuple[str, int]]:
    """(family, version) pairs already recorded in schema_migrations."""
    await _ensure_table(conn)
    rows = await conn.fetch("SELECT family, version FROM schema_migrations")
    return {(r["family"], r["version"]) for r in rows}


async def migrate(conn: Conn, sources: Sequence[tuple[str, str]] = ()) -> list[Migration]:
    """Apply the pending migrations of the runtime and the given families; returns them."""
    done: list[Migration] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
    try:
        have = await applied(conn)
        for m in available(sources):
            if (m.family, m.version) in have:
                continue
            async with conn.transaction():
                await conn.execute(m.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (family, version, name) VALUES ($1, $2, $3)",
                    m.family, m.version, m.name,
                )
            log.info("applied migration", extra={"action": "migrate", "family": m.family,
                                                 "version": m.version, "migration": m.name})
            done.append(m)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
    return done
