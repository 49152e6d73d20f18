"""The migrations build the schema the code expects: every named query of every family prepares."""

from __future__ import annotations

import asyncpg
import pytest

from supervisor.families import discover
from supervisor.store.migrate import available, migrate
from supervisor.store.sql import RUNTIME, Queries


def _all_queries() -> list[tuple[str, Queries]]:
    found = [("supervisor", RUNTIME)]
    found += [(lf.family.name, lf.family.queries) for lf in discover() if lf.family.queries]
    return found


async def test_every_named_query_prepares_against_the_migrated_schema(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as conn:
        for family, queries in _all_queries():
            for name, sql in queries.all().items():
                try:
                    await conn.prepare(sql)
                except asyncpg.PostgresError as exc:
                    pytest.fail(f"query {family}/{name} does not match the schema: {exc}")


async def test_migrations_are_recorded_per_family_and_idempotent(pool: asyncpg.Pool) -> None:
    sources = discover().migration_sources()
    async with pool.acquire() as conn:
        assert await migrate(conn, sources) == []
        recorded = [(r["family"], r["version"]) for r in await conn.fetch(
            "SELECT family, version FROM schema_migrations ORDER BY applied_at, family, version")]
    assert sorted(recorded) == sorted((m.family, m.version) for m in available(sources))


async def test_a_database_from_before_families_gets_the_family_column(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await conn.execute("DROP TABLE schema_migrations")
        await conn.execute("CREATE TABLE schema_migrations (version integer PRIMARY KEY,"
                           " name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
        runtime = [m for m in available() if m.family == "supervisor"]
        for m in runtime:
            await conn.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                               m.version, m.name)
        assert await migrate(conn) == []  # nothing re-applied: the old rows count as the runtime's
        families = {r["family"] for r in await conn.fetch("SELECT family FROM schema_migrations")}
    assert families == {"supervisor"}
