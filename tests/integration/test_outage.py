"""A database outage while running: every loop waits it out, reconnects, and loses no job."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import asyncpg
import pytest

from supervisor.daemon import Daemon
from supervisor.store.jobs import JobStore
from tests.conftest import make_config
from tests.helpers import eventually, families_with, running_daemon, statuses
from tests.proxy import CuttableProxy

JOBS = 300


@pytest.fixture
async def proxy(db_dsn: str) -> AsyncIterator[CuttableProxy]:
    p = CuttableProxy(db_dsn)
    await p.start()
    yield p
    await p.cut()


async def test_outage_mid_run_loses_nothing(
    proxy: CuttableProxy, store: JobStore, pool: asyncpg.Pool
) -> None:
    config = make_config(proxy.dsn(), node_stale_seconds=60)
    daemon = Daemon(config, families_with())
    async with running_daemon(daemon):
        await store.create_many("sleep", [{"seconds": 0.02} for _ in range(JOBS)])
        await eventually(lambda: _completed_over(pool, 20), what="some jobs done")
        await proxy.cut()
        await anyio.sleep(2)  # every loop notices and backs off
        assert (await statuses(pool)).get("completed", 0) < JOBS
        await proxy.start()
        await eventually(lambda: _completed_over(pool, JOBS - 1), timeout=90,
                         what="every job completed after the outage")
    assert await statuses(pool) == {"completed": JOBS}
    assert await pool.fetchval("SELECT max(attempts) FROM jobs") == 1


async def _completed_over(pool: asyncpg.Pool, n: int) -> bool:
    return (await statuses(pool)).get("completed", 0) > n
