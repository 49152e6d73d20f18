"""Numbered SQL migrations, each applied once in its own transaction and recorded."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources

import asyncpg
from asyncpg.pool import PoolConnectionProxy

log = logging.getLogger("supervisor.migrate")
_FILE = re.compile(r"^(\d{4})_(\w+)\.sql$")
# One lock id for the whole product, so concurrent starts migrate one at a time.
_LOCK_ID = 7_415_202_611
Conn = asyncpg.Connection | PoolConnectionProxy


@dataclass(frozen=True)
class Migration:
    """One numbered SQL file."""

    version: int
    name: str
    sql: str


def available() -> list[Migration]:
    """Every migration shipped with the package, in order."""
    folder = resources.files("supervisor.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text()))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number: {versions}")
    return found


async def applied(conn: Conn) -> set[int]:
    """Versions already recorded in schema_migrations."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version integer PRIMARY KEY, name text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())"
    )
    return {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}


async def migrate(conn: Conn) -> list[Migration]:
    """Apply the pending migrations; returns what was applied."""
    done: list[Migration] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _LOCK_ID)
    try:
        have = await applied(conn)
        for m in available():
            if m.version in have:
                continue
            async with conn.transaction():
                await conn.execute(m.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    m.version, m.name,
                )
            log.info("applied migration", extra={"action": "migrate", "version": m.version,
                                                 "migration": m.name})
            done.append(m)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _LOCK_ID)
    return done
