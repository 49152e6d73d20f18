"""Chaos (a): three daemons, kill -9 at random again and again: nothing lost, stuck or doubled."""

from __future__ import annotations

import random
from pathlib import Path

import anyio
import asyncpg
import pytest

from supervisor.store.jobs import JobStore
from tests.chaos.ledger import CREATE_LEDGER
from tests.chaos.support import chaos_daemon, job_states, ledger_problems
from tests.e2e.procs import DaemonProc
from tests.helpers import eventually

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

# The issue ran 20,000 jobs; 2 shared cores finish this many, with 15 kills, in about two minutes.
JOBS = 20_000
KILLS = 15
DAEMONS = 3
WORKERS = 4


def _daemon(dsn: str, tmp: Path, n: int) -> DaemonProc:
    return chaos_daemon(dsn, tmp / f"daemon{n}.log", "--only", "rescue,first_time,retry",
                        PARALLEL_JOBS=str(WORKERS), NODE_HEARTBEAT_SECONDS="0.5",
                        NODE_STALE_SECONDS="2", RESCUE_INTERVAL_SECONDS="0.5")


async def test_fifteen_kill_9_across_three_daemons_lose_nothing_and_run_each_job_once(
    db_dsn: str, pool: asyncpg.Pool, store: JobStore, procs: list[DaemonProc], tmp_path: Path,
) -> None:
    await pool.execute(CREATE_LEDGER)
    for start in range(0, JOBS, 5000):
        await store.create_many("ledger", [{"seconds": 0.01}] * min(5000, JOBS - start))
    live = [_daemon(db_dsn, tmp_path, n) for n in range(DAEMONS)]
    procs.extend(live)
    rng = random.Random(8)
    for kill in range(KILLS):
        await anyio.sleep(rng.uniform(1.0, 3.0))
        done = (await job_states(pool)).get("completed", 0)
        assert done < JOBS, f"work ran out after {kill} kills: raise JOBS"
        victim = rng.randrange(DAEMONS)
        live[victim].p.kill()  # SIGKILL
        await live[victim].wait()
        live[victim] = _daemon(db_dsn, tmp_path, DAEMONS + kill)
        procs.append(live[victim])
    await eventually(lambda: _all_completed(pool), timeout=400, what="every job completed")
    for p in live:
        assert p.p.poll() is None, p.tail()
    assert await job_states(pool) == {"completed": JOBS}
    problems = await ledger_problems(pool)
    assert problems == [], problems[:20]
    lost = await pool.fetchval("SELECT coalesce(sum(rescues), 0) FROM jobs")
    assert lost <= KILLS * WORKERS, "more runs lost than could have been running at the kills"


async def _all_completed(pool: asyncpg.Pool) -> bool:
    return (await job_states(pool)).get("completed", 0) == JOBS
