"""Pruning finished work in batches under one lock, and bulk cancel/retry by filter."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import anyio
import asyncpg
from typer.testing import CliRunner

from supervisor.cli import app
from supervisor.cluster.pruner import Pruner
from supervisor.config import Config
from supervisor.retention import DEFAULT_RETENTION
from supervisor.store.bulk import JobFilter, cancel_matching, retry_matching
from supervisor.store.jobs import JobStore
from supervisor.store.prune import PruneStore
from tests.integration.api_support import api_client


async def _aged(pool: asyncpg.Pool, status: str, days: float, n: int = 1,
                job_type: str = "noop") -> None:
    await pool.execute(
        "INSERT INTO jobs (job_type, status, created_at, finished_at) SELECT $1, $2, "
        "now() - make_interval(days => $3::int) - interval '1 h', "
        "now() - make_interval(days => $3::int) FROM generate_series(1, $4)",
        job_type, status, int(days), n)


async def _counts(pool: asyncpg.Pool) -> dict[str, int]:
    return dict(await pool.fetch("SELECT status, count(*) FROM jobs GROUP BY status"))


async def test_prune_deletes_only_what_outlived_its_retention(pool: asyncpg.Pool) -> None:
    await _aged(pool, "completed", 8, 25)
    await _aged(pool, "completed", 6, 3)
    await _aged(pool, "dead", 31, 2)
    await _aged(pool, "dead", 20, 1)
    await _aged(pool, "cancelled", 40, 1)
    await _aged(pool, "failed", 90, 1)  # not finished: never pruned
    await _aged(pool, "open", 90, 1)
    pruner = Pruner(PruneStore(pool), DEFAULT_RETENTION, interval=60, batch=10, pause=0)
    deleted = await pruner.prune_once()
    assert deleted is not None
    assert (deleted["completed"], deleted["dead"], deleted["cancelled"]) == (25, 2, 1)
    assert await _counts(pool) == {"completed": 3, "dead": 1, "failed": 1, "open": 1}


async def test_old_schedule_events_and_stopped_nodes_go_too(pool: asyncpg.Pool) -> None:
    sid = await pool.fetchval("INSERT INTO scheduled_jobs (name, cron, job_type) "
                              "VALUES ('s', '* * * * *', 'noop') RETURNING id")
    await pool.execute("INSERT INTO schedule_events (schedule_id, kind, created_at) VALUES "
                       "($1, 'missed', now() - interval '31 days'), ($1, 'missed', now())", sid)
    old, busy, live = uuid4(), uuid4(), uuid4()
    await pool.execute(
        "INSERT INTO nodes (id, hostname, pid, roles, stopped_at) VALUES "
        "($1, 'h', 1, '{}', now() - interval '8 days'), "
        "($2, 'h', 2, '{}', now() - interval '8 days'), ($3, 'h', 3, '{}', NULL)",
        old, busy, live)
    await pool.execute("INSERT INTO jobs (job_type, status, node_id) VALUES "
                       "('noop', 'processing', $1)", busy)  # held: its rescue needs the row
    deleted = await Pruner(PruneStore(pool), DEFAULT_RETENTION, interval=60,
                           batch=100).prune_once()
    assert deleted is not None and deleted["schedule_events"] == 1 and deleted["nodes"] == 1
    assert await pool.fetchval("SELECT count(*) FROM schedule_events") == 1
    assert {r["id"] for r in await pool.fetch("SELECT id FROM nodes")} == {busy, live}


async def test_one_process_prunes_at_a_time(pool: asyncpg.Pool) -> None:
    await _aged(pool, "completed", 8, 3)
    async with pool.acquire() as other, other.transaction():
        await other.execute("SELECT pg_advisory_xact_lock(7415202612)")
        assert await PruneStore(pool).prune_batch("completed", timedelta(days=7), 10) is None
        pruner = Pruner(PruneStore(pool), DEFAULT_RETENTION, interval=60, batch=10)
        assert await pruner.prune_once() is None
    assert await PruneStore(pool).prune_batch("completed", timedelta(days=7), 10) == 3


async def _cli(dsn: str, *args: str) -> tuple[int, str]:
    env = {"DATABASE_URL": dsn, "SUPERVISOR_CONFIG": "/dev/null", "LOG_FORMAT": "plain"}

    def invoke() -> tuple[int, str]:
        result = CliRunner().invoke(app, list(args), env=env)
        return result.exit_code, result.output

    return await anyio.to_thread.run_sync(invoke)


async def test_cli_prune_older_than(db_dsn: str, pool: asyncpg.Pool) -> None:
    await _aged(pool, "completed", 3, 4)
    await _aged(pool, "dead", 1, 1)
    code, out = await _cli(db_dsn, "jobs", "prune", "--older-than", "2d")
    assert code == 0, out
    assert "completed        4 deleted (older than 2 days, 0:00:00)" in out
    assert await _counts(pool) == {"dead": 1}
    code, out = await _cli(db_dsn, "jobs", "prune", "--older-than", "soon")
    assert code == 2 and "--older-than: 'soon' is not a duration" in out
    code, out = await _cli(db_dsn, "jobs", "prune", "--what", "logs")
    assert code == 2 and "choose from completed, dead" in out


async def test_bulk_cancel_matches_state_type_and_age(store: JobStore, pool: asyncpg.Pool,
                                                      ) -> None:
    await _aged(pool, "open", 2, 3, "sleep")
    await _aged(pool, "open", 0, 2, "sleep")
    await _aged(pool, "open", 2, 2, "noop")
    await _aged(pool, "completed", 2, 1, "sleep")
    flt = JobFilter(job_type="sleep", created_before=datetime.now(UTC) - timedelta(days=1))
    assert await cancel_matching(store, flt, batch=2) == 3
    rows = await pool.fetch("SELECT job_type, status, count(*) FROM jobs GROUP BY 1, 2")
    assert {(r[0], r[1]): r[2] for r in rows} == {
        ("sleep", "cancelled"): 3, ("sleep", "open"): 2, ("noop", "open"): 2,
        ("sleep", "completed"): 1}


async def test_bulk_cancel_interrupts_held_jobs_by_notification(
    store: JobStore, pool: asyncpg.Pool, db_dsn: str,
) -> None:
    await pool.execute("INSERT INTO jobs (job_type, status) VALUES ('noop', 'processing'), "
                       "('noop', 'open')")
    running = await pool.fetchval("SELECT uuid::text FROM jobs WHERE status = 'processing'")
    heard: asyncio.Queue[str] = asyncio.Queue()
    conn = await asyncpg.connect(db_dsn)
    try:
        await conn.add_listener("supervisor_cancel", lambda *a: heard.put_nowait(a[3]))
        assert await cancel_matching(store, JobFilter(statuses=["processing", "open"])) == 2
        with anyio.fail_after(5):
            assert await heard.get() == running
        await asyncio.sleep(0.05)
        assert heard.empty()  # the open job had no runner to tell
    finally:
        await conn.close()


async def test_bulk_retry_reopens_each_job_once(store: JobStore, pool: asyncpg.Pool) -> None:
    await _aged(pool, "dead", 1, 5)
    await _aged(pool, "failed", 1, 2)
    await _aged(pool, "completed", 1, 1)
    assert await retry_matching(store, JobFilter(statuses=["dead", "completed"]), batch=2) == 5
    assert await _counts(pool) == {"open": 5, "failed": 2, "completed": 1}
    assert await retry_matching(store, JobFilter(job_type="noop")) == 2


async def test_api_bulk_cancel_and_retry(pool: asyncpg.Pool, config: Config) -> None:
    await _aged(pool, "failed", 1, 3, "sleep")
    async with api_client(pool, config) as (client, _):
        r = await client.post("/common/jobs/cancel", json={"job_type": "sleep"})
        assert r.status_code == 200 and r.json()["count"] == 3, r.text
        r = await client.post("/common/jobs/retry", json={"status": ["cancelled"]})
        assert r.json() == {"success": True, "count": 3, "message": "3 job(s) re-opened"}
        r = await client.post("/common/jobs/cancel", json={})
        assert r.status_code == 400 and r.json()["error"].startswith("ERR_EMPTY_FILTER")
        for when in ("yesterday", "0001-01-01T00:00:00+14:00", "2026-01-01T00:00:00"):
            r = await client.post("/common/jobs/retry", json={"created_before": when})
            assert r.status_code == 400 and r.json()["field"] == "created_before", when
        r = await client.post("/common/jobs/retry", json={"status": ["stuck"]})
        assert r.status_code == 400 and r.json()["error"].startswith("ERR_INVALID_STATUS")
    assert await _counts(pool) == {"open": 3}


async def test_cli_bulk_cancel_and_retry(db_dsn: str, pool: asyncpg.Pool) -> None:
    await _aged(pool, "open", 1, 2, "sleep")
    code, out = await _cli(db_dsn, "job", "cancel", "--type", "sleep", "--status", "open")
    assert (code, out) == (0, "cancelled 2 job(s)\n")
    code, out = await _cli(db_dsn, "job", "retry", "--created-before", "2999-01-01")
    assert (code, out) == (0, "re-opened 2 job(s)\n")
    code, out = await _cli(db_dsn, "job", "cancel")
    assert code == 2 and "give a job uuid, or filters" in out
    code, out = await _cli(db_dsn, "job", "cancel", "--created-before", "tomorrow")
    assert code == 2 and "--created-before: 'tomorrow' is not an ISO 8601 time" in out
    code, out = await _cli(db_dsn, "job", "cancel", "--created-before", "0001-01-01T00:00+14:00")
    assert code == 2 and "outside the years 1 to 9999" in out
