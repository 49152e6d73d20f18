"""Chaos (b): PostgreSQL stopped for 10 s and for 40 s under load, on a private cluster.

The daemon must live through both, lose and kill no job, spend no attempt on the outage, and
never rescue its own jobs (its heartbeat is stale after each outage: NODE_STALE_SECONDS is 5).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import asyncpg
import pytest

from supervisor.store.db import create_pool
from supervisor.store.jobs import JobStore
from supervisor.store.migrate import migrate
from tests.chaos.servers import PrivateCluster
from tests.chaos.support import chaos_daemon, job_states
from tests.e2e.procs import DaemonProc
from tests.helpers import eventually

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
JOBS = 5000  # 0.05 s sleep jobs on 8 workers: about 35 s of work, the load


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    c = PrivateCluster()
    c.init()
    c.start()
    yield c
    c.cleanup()


@pytest.fixture
async def private_pool(cluster: PrivateCluster) -> AsyncIterator[asyncpg.Pool]:
    admin = await asyncpg.connect(cluster.dsn())
    await admin.execute("CREATE DATABASE chaos")
    await admin.close()
    pool = await create_pool(cluster.dsn("chaos"), min_size=1, max_size=2)
    async with pool.acquire() as conn:
        await migrate(conn)
    yield pool
    await pool.close()


async def test_postgres_stopped_10_s_then_40_s_under_load_costs_no_job_and_no_attempt(
    cluster: PrivateCluster, private_pool: asyncpg.Pool, procs: list[DaemonProc],
    tmp_path: Path,
) -> None:
    store = JobStore(private_pool)
    await store.create_many("sleep", [{"seconds": 0.05}] * JOBS)
    daemon = chaos_daemon(cluster.dsn("chaos"), tmp_path / "daemon.log", PARALLEL_JOBS="8",
                          NODE_HEARTBEAT_SECONDS="1", NODE_STALE_SECONDS="5",
                          RESCUE_INTERVAL_SECONDS="1")
    procs.append(daemon)
    done = 0
    for outage in (10, 40):
        done = await _progress_beyond(private_pool, done + 300, daemon)
        await anyio.to_thread.run_sync(cluster.stop)
        await anyio.sleep(outage)
        assert daemon.p.poll() is None, daemon.tail()
        await anyio.to_thread.run_sync(cluster.start)
        await private_pool.expire_connections()
    await eventually(lambda: _all_completed(private_pool), timeout=300, what="every job done")
    assert daemon.p.poll() is None, daemon.tail()
    assert await job_states(private_pool) == {"completed": JOBS}
    row = await private_pool.fetchrow(
        "SELECT max(attempts) AS attempts, max(rescues) AS rescues, "
        "count(*) FILTER (WHERE job_response ? 'runtime_errors') AS errors FROM jobs")
    assert dict(row) == {"attempts": 1, "rescues": 0, "errors": 0}
    log = daemon.log.read_text(errors="replace")
    assert '"action": "service_crash"' not in log, daemon.tail()
    assert '"action": "rescue"' not in log, "the daemon rescued its own jobs"


async def _progress_beyond(pool: asyncpg.Pool, n: int, daemon: DaemonProc) -> int:
    """Wait until at least `n` jobs are done (the load is on); returns how many are."""
    async def check() -> bool:
        assert daemon.p.poll() is None, daemon.tail()
        return (await job_states(pool)).get("completed", 0) >= n

    await eventually(check, timeout=120, what=f"{n} jobs done")
    done = (await job_states(pool)).get("completed", 0)
    assert done < JOBS, "the load ran out before the outage: raise JOBS"
    return done


async def _all_completed(pool: asyncpg.Pool) -> bool:
    return (await job_states(pool)).get("completed", 0) == JOBS
