"""The daemon's claims keep one connection per lane, and give it back on errors and at close."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from uuid import uuid4

import asyncpg
import pytest

from supervisor.store.db import create_pool, is_transient
from supervisor.store.jobs import JobStore


@pytest.fixture
async def claim_pool(db_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(db_dsn, min_size=1, max_size=3, durable=False,
                             server_settings={"application_name": "claims"})
    yield pool
    pool.terminate()  # a test that failed may not have handed its connections back


def in_use(pool: asyncpg.Pool) -> int:
    return pool.get_size() - pool.get_idle_size()


async def test_each_lane_holds_one_connection_between_claims(
        pool: asyncpg.Pool, claim_pool: asyncpg.Pool) -> None:
    store = JobStore(pool, claim_pool)
    node = uuid4()
    for _ in range(3):
        await store.create("noop", {})
        assert len(await store.claim("first_time", node, 10)) == 1
    assert in_use(claim_pool) == 1  # one connection, kept across the three claims
    assert await store.claim("retry", node, 10) == []
    assert in_use(claim_pool) == 2
    await store.close()
    assert in_use(claim_pool) == 0
    await asyncio.wait_for(claim_pool.close(), 5)  # waits for no one


async def test_a_killed_held_connection_costs_at_most_one_claim(
        pool: asyncpg.Pool, claim_pool: asyncpg.Pool) -> None:
    store = JobStore(pool, claim_pool)
    node = uuid4()
    assert await store.claim("first_time", node, 10) == []
    killed = await pool.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND application_name = 'claims'")
    assert killed >= 1
    job = await store.create("noop", {})
    try:
        got = await store.claim("first_time", node, 10)
    except Exception as exc:  # the statement on the dead connection; the next one reconnects
        assert is_transient(exc), exc
        got = await store.claim("first_time", node, 10)
    assert [c.uuid for c in got] == [job["uuid"]]
    await store.close()
    await asyncio.wait_for(claim_pool.close(), 5)


async def test_a_shared_pool_is_never_held(pool: asyncpg.Pool) -> None:
    store = JobStore(pool)  # tests and tools: the store does not own this pool
    await store.create("noop", {})
    assert len(await store.claim("first_time", uuid4(), 10)) == 1
    assert in_use(pool) == 0
