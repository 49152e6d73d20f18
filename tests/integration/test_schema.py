"""The migrations build the schema the code expects: every named query prepares."""

from __future__ import annotations

import asyncpg
import pytest

from supervisor.store.migrate import available, migrate
from supervisor.store.sql import queries


async def test_every_named_query_prepares_against_the_migrated_schema(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as conn:
        for name, sql in queries().items():
            try:
                await conn.prepare(sql)
            except asyncpg.PostgresError as exc:
                pytest.fail(f"query {name} does not match the schema: {exc}")


async def test_migrations_are_recorded_and_idempotent(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        assert await migrate(conn) == []
        versions = [r["version"] for r in await conn.fetch(
            "SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == [m.version for m in available()]
