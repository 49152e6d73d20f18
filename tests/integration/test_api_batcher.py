"""Group commit of API creates: shared INSERTs, each caller answered after its own row commits."""

from __future__ import annotations

import asyncio
import math
from uuid import UUID

import asyncpg
import pytest

from supervisor.api.batcher import CreateBatcher
from supervisor.store.jobs import JobStore


async def test_concurrent_creates_share_inserts_and_every_row_is_there(
    store: JobStore, pool: asyncpg.Pool,
) -> None:
    batcher = CreateBatcher(store)
    uuids = await asyncio.gather(*(batcher.create("noop", {"i": i}, 1, 5) for i in range(200)))
    rows = await pool.fetch("SELECT uuid, data, retry_count, retry_interval FROM jobs")
    assert {r["uuid"]: r["data"]["i"] for r in rows} == {u: i for i, u in enumerate(uuids)}
    assert {(r["retry_count"], r["retry_interval"]) for r in rows} == {(1, 5)}
    assert batcher.batches < 200  # all but the first arrived while an INSERT was in flight


async def test_batches_are_capped(store: JobStore) -> None:
    batcher = CreateBatcher(store, max_batch=7)
    await asyncio.gather(*(batcher.create("noop", {}, 0, 30) for _ in range(50)))
    assert batcher.batches >= math.ceil(50 / 7)


async def test_a_row_postgres_refuses_fails_alone(store: JobStore, pool: asyncpg.Pool) -> None:
    batcher = CreateBatcher(store)
    results = await asyncio.gather(
        *(batcher.create("noop", {"i": i}, 0, 30) for i in range(5)),
        batcher.create("noop", {"bad": "\u0000"}, 0, 30),
        *(batcher.create("noop", {"i": i}, 0, 30) for i in range(5, 10)),
        return_exceptions=True)
    assert isinstance(results[5], asyncpg.DataError)
    good = [r for r in results if isinstance(r, UUID)]
    assert len(good) == 10
    assert await pool.fetchval("SELECT count(*) FROM jobs") == 10


async def test_a_cancelled_caller_does_not_lose_the_others(store: JobStore,
                                                           pool: asyncpg.Pool) -> None:
    batcher = CreateBatcher(store)
    first = asyncio.create_task(batcher.create("noop", {}, 0, 30))
    others = [asyncio.create_task(batcher.create("noop", {}, 0, 30)) for _ in range(5)]
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.gather(*others)
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await pool.fetchval("SELECT count(*) FROM jobs") == 6  # its row was written anyway
