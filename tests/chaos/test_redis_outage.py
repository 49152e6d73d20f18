"""Chaos (d): Redis stopped under load: wake-ups fall back to NOTIFY and polling, nothing else."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import asyncpg
import pytest

from supervisor.store.jobs import JobStore
from tests.chaos.ledger import CREATE_LEDGER
from tests.chaos.servers import PrivateRedis
from tests.chaos.support import chaos_daemon, job_states, ledger_problems
from tests.e2e.procs import DaemonProc
from tests.helpers import eventually

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
JOBS = 3000


@pytest.fixture
def redis_server() -> Iterator[PrivateRedis]:
    try:
        server = PrivateRedis()
    except RuntimeError as exc:
        pytest.skip(f"Redis chaos test skipped: {exc}")
    server.start()
    yield server
    server.stop()


async def test_redis_stopped_under_load_changes_nothing_but_wake_up_latency(
    db_dsn: str, pool: asyncpg.Pool, store: JobStore, redis_server: PrivateRedis,
    procs: list[DaemonProc], tmp_path: Path,
) -> None:
    await pool.execute(CREATE_LEDGER)
    daemons = [chaos_daemon(db_dsn, tmp_path / f"daemon{n}.log", "--only", "rescue,first_time",
                            REDIS_HOST=f"127.0.0.1:{redis_server.port}", PARALLEL_JOBS="4")
               for n in range(2)]
    procs.extend(daemons)
    # Jobs arrive in waves all along, so wake-ups matter before, during and after the outage.
    for wave in range(30):
        await store.create_many("ledger", [{"seconds": 0.01}] * (JOBS // 30))
        if wave == 5:
            redis_server.stop()
        if wave == 20:
            redis_server.start()
        await anyio.sleep(0.4)
    await eventually(lambda: _all_completed(pool), timeout=120, what="every job done")
    for d in daemons:
        assert d.p.poll() is None, d.tail()
        log = d.log.read_text(errors="replace")
        assert '"action": "service_crash"' not in log, d.tail()
        assert '"action": "redis_wake"' in log, "the daemon never noticed Redis was away"
    assert await job_states(pool) == {"completed": JOBS}
    assert await ledger_problems(pool) == []
    assert await pool.fetchval("SELECT max(rescues) FROM jobs") == 0


async def _all_completed(pool: asyncpg.Pool) -> bool:
    return (await job_states(pool)).get("completed", 0) == JOBS
