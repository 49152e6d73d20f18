"""The daemon as a subprocess: SIGTERM and restart, kill -9 and restart, two daemons at once."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import asyncpg
import pytest

from supervisor.store.jobs import JobStore
from tests.e2e.jobtypes import CREATE_TABLE
from tests.e2e.procs import DaemonProc
from tests.helpers import eventually, statuses

JOBS = 1000


def worker_daemon(dsn: str, log: Path, **extra: str) -> DaemonProc:
    """The worker services with the e2e job type loaded and a quick rescue."""
    return DaemonProc(dsn, log, "--only", "rescue,first_time,retry",
                      SUPERVISOR_JOB_MODULES="tests.e2e.jobtypes", PARALLEL_JOBS="4",
                      NODE_STALE_SECONDS="2", **extra)


@pytest.fixture
def procs() -> Iterator[list[DaemonProc]]:
    started: list[DaemonProc] = []
    yield started
    for p in started:
        p.kill()


@pytest.fixture
async def runs_table(pool: asyncpg.Pool) -> AsyncIterator[None]:
    await pool.execute(CREATE_TABLE)
    yield


async def _runs(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM e2e_runs"))


async def _done(pool: asyncpg.Pool) -> bool:
    return (await statuses(pool)).get("completed", 0) == JOBS


async def _assert_nothing_held(pool: asyncpg.Pool) -> None:
    counts = await statuses(pool)
    held = {s: counts.get(s, 0) for s in ("in_queue", "retry_in_queued", "processing")}
    assert held == {"in_queue": 0, "retry_in_queued": 0, "processing": 0}, counts


async def test_sigterm_mid_run_then_restart_completes_every_job_once(
    db_dsn: str, pool: asyncpg.Pool, store: JobStore, runs_table: None, procs: list[DaemonProc],
    tmp_path: Path,
) -> None:
    await store.create_many("record", [{"seconds": 0.005} for _ in range(JOBS)])
    first = worker_daemon(db_dsn, tmp_path / "daemon.log")
    procs.append(first)
    await eventually(lambda: _more_runs_than(pool, 200), timeout=60, what="200 runs")
    first.p.send_signal(signal.SIGTERM)
    assert await first.wait() == 0, first.log.read_text()[-3000:]
    await _assert_nothing_held(pool)
    assert (await statuses(pool)).get("completed", 0) < JOBS
    second = worker_daemon(db_dsn, tmp_path / "daemon.log")
    procs.append(second)
    await eventually(lambda: _done(pool), timeout=120, what="every job completed")
    second.p.send_signal(signal.SIGTERM)
    assert await second.wait() == 0
    assert await _runs(pool) == JOBS
    assert await pool.fetchval("SELECT count(DISTINCT job) FROM e2e_runs") == JOBS
    assert await pool.fetchval("SELECT max(attempts) FROM jobs") == 1


async def test_kill_9_mid_run_then_restart_leaves_nothing_stuck(
    db_dsn: str, pool: asyncpg.Pool, store: JobStore, runs_table: None, procs: list[DaemonProc],
    tmp_path: Path,
) -> None:
    await store.create_many("record", [{"seconds": 0.005} for _ in range(JOBS)])
    first = worker_daemon(db_dsn, tmp_path / "daemon.log")
    procs.append(first)
    await eventually(lambda: _more_runs_than(pool, 200), timeout=60, what="200 runs")
    first.p.kill()
    first.p.wait()
    counts = await statuses(pool)
    held = counts.get("in_queue", 0) + counts.get("processing", 0)
    assert held > 0, "the kill should catch the daemon holding jobs"
    second = worker_daemon(db_dsn, tmp_path / "daemon.log")
    procs.append(second)
    await eventually(lambda: _done(pool), timeout=120, what="every job completed")
    second.p.send_signal(signal.SIGTERM)
    assert await second.wait() == 0
    await _assert_nothing_held(pool)
    assert await pool.fetchval("SELECT count(DISTINCT job) FROM e2e_runs") == JOBS
    # At-least-once across a crash: only a job caught between its work and its status write
    # can run twice, and there are never more of those than the process held.
    assert await _runs(pool) - JOBS <= held


async def test_two_daemons_never_run_a_job_twice(
    db_dsn: str, pool: asyncpg.Pool, store: JobStore, runs_table: None, procs: list[DaemonProc],
    tmp_path: Path,
) -> None:
    a = worker_daemon(db_dsn, tmp_path / "a.log")
    b = worker_daemon(db_dsn, tmp_path / "b.log")
    procs.extend([a, b])
    await anyio.sleep(1.5)
    for _ in range(0, JOBS, 100):
        await store.create_many("record", [{"seconds": 0.002} for _ in range(100)])
        await anyio.sleep(0.02)
    await eventually(lambda: _done(pool), timeout=120, what="every job completed")
    for p in (a, b):
        p.p.send_signal(signal.SIGTERM)
    assert [await a.wait(), await b.wait()] == [0, 0]
    assert await _runs(pool) == JOBS
    assert await pool.fetchval("SELECT count(DISTINCT job) FROM e2e_runs") == JOBS
    per_pid = await pool.fetch("SELECT pid, count(*) FROM e2e_runs GROUP BY pid")
    assert len(per_pid) == 2, "both daemons should have taken work"


async def test_second_signal_forces_the_exit_and_hands_the_job_back(
    db_dsn: str, pool: asyncpg.Pool, store: JobStore, runs_table: None, procs: list[DaemonProc],
    tmp_path: Path,
) -> None:
    job = await store.create("record", {"seconds": 600})
    daemon = worker_daemon(db_dsn, tmp_path / "daemon.log", SHUTDOWN_GRACE_SECONDS="600")
    procs.append(daemon)
    await eventually(lambda: _status_is(store, job["uuid"], "processing"), timeout=60,
                     what="job running")
    daemon.p.send_signal(signal.SIGTERM)
    await anyio.sleep(1)
    assert daemon.p.poll() is None, "the first signal waits for the running job"
    daemon.p.send_signal(signal.SIGTERM)
    assert await daemon.wait(timeout=30) == 1
    row = await store.get(job["uuid"])
    assert row is not None
    assert (row["status"], row["attempts"], row["rescues"]) == ("open", 0, 0)


async def _status_is(store: JobStore, uuid: object, status: str) -> bool:
    row = await store.get(uuid)  # type: ignore[arg-type]
    return row is not None and row["status"] == status


async def _more_runs_than(pool: asyncpg.Pool, n: int) -> bool:
    return await _runs(pool) > n
