"""Issue 8: outages cost no attempt, a process never rescues itself, every fast crash counts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import anyio
import asyncpg
import pytest
from pydantic import BaseModel

from supervisor.daemon import Daemon
from supervisor.families import Families
from supervisor.jobtypes import JobContext
from supervisor.store.jobs import JobStore
from supervisor.store.nodes import NodeStore
from tests.conftest import make_config
from tests.helpers import eventually, families_with, running_daemon, statuses
from tests.proxy import CuttableProxy


class Seconds(BaseModel):
    """How long the job works."""

    seconds: float = 0.0


class SeeOwnStatus:
    """Records the status its own row has while the handler runs."""

    name = "see_own_status"
    payload_model = Seconds

    async def run(self, ctx: JobContext, payload: Seconds) -> dict[str, Any] | None:
        """Look at the own row first thing, as a job that crashes at once would not."""
        status = await ctx.db.fetchval(
            "SELECT status FROM jobs WHERE uuid = $1", ctx.uuid)
        return {"seen": status}


class BadProgress:
    """Reports a progress value PostgreSQL refuses (NaN is not JSON), then succeeds."""

    name = "bad_progress"
    payload_model = Seconds

    async def run(self, ctx: JobContext, payload: Seconds) -> dict[str, Any] | None:
        """Progress is a courtesy: its failure must not fail this job."""
        await ctx.progress(float("nan"), 1)
        return {"ok": True}


class Ledger:
    """Works `seconds`, leaving a row at the start of every run and stamping it at the end."""

    name = "ledger_run"
    payload_model = Seconds

    async def run(self, ctx: JobContext, payload: Seconds) -> dict[str, Any] | None:
        """One ledger row per execution, so runs that were cut short stay visible."""
        pool = ctx.db
        run_id = await pool.fetchval(
            "INSERT INTO test_ledger (job) VALUES ($1) RETURNING id", ctx.uuid)
        await anyio.sleep(payload.seconds)
        await pool.execute("UPDATE test_ledger SET finished = now() WHERE id = $1", run_id)
        return None


def _families() -> Families:
    return families_with(SeeOwnStatus(), BadProgress(), Ledger())


@pytest.fixture
async def proxy(db_dsn: str) -> AsyncIterator[CuttableProxy]:
    p = CuttableProxy(db_dsn)
    await p.start()
    yield p
    await p.cut()


@pytest.fixture
async def ledger(pool: asyncpg.Pool) -> None:
    await pool.execute("CREATE TABLE test_ledger (id bigserial PRIMARY KEY, job uuid NOT NULL, "
                       "started timestamptz NOT NULL DEFAULT now(), finished timestamptz)")


async def test_a_suspect_is_processing_in_the_database_before_its_handler_runs(
    config: Any, store: JobStore, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A job whose claim was lost with a dead process before must count as running when it
    # starts again, or a job that kills its process at once would never have its crashes
    # counted. Other jobs start at once (their start mark follows if they run long: here
    # never, or a loaded machine that delays a handler past the mark's 20 ms would mark it).
    monkeypatch.setattr("supervisor.lanes.pool.STARTED_MARK_DELAY", 3600.0)
    for _ in range(20):
        await store.create("see_own_status", {})
    await pool.execute("UPDATE jobs SET lost_claims = 1 WHERE id % 2 = 0")
    async with running_daemon(Daemon(config, _families(), ["first_time"])):
        await eventually(lambda: _all(pool, "completed", 20), what="jobs done")
    seen = await pool.fetch("SELECT lost_claims, job_response->>'seen' AS seen FROM jobs")
    assert {r["seen"] for r in seen if r["lost_claims"]} == {"processing"}
    assert {r["seen"] for r in seen if not r["lost_claims"]} == {"in_queue"}


async def test_a_claim_lost_with_a_dead_process_makes_the_job_a_suspect(
    store: JobStore, pool: asyncpg.Pool
) -> None:
    from supervisor.store.nodes import NodeStore

    job = await store.create("noop", {})
    dead, alive = uuid4(), uuid4()
    await pool.execute("UPDATE jobs SET status = 'in_queue', node_id = $1", dead)
    await NodeStore(pool).rescue(stale_seconds=1.0, rescue_limit=3, rescuer=alive)
    row = await store.get(job["uuid"])
    assert row is not None
    assert (row["status"], row["lost_claims"], row["rescues"]) == ("open", 1, 0)
    claimed = await store.claim("first_time", alive, 10)
    assert [c.suspect for c in claimed] == [True]


async def test_a_progress_write_that_fails_never_fails_the_job(
    config: Any, store: JobStore, pool: asyncpg.Pool
) -> None:
    async with running_daemon(Daemon(config, _families(), ["first_time"])):
        job = await store.create("bad_progress", {})
        await eventually(lambda: _all(pool, "completed", 1), what="job done")
    row = await store.get(job["uuid"])
    assert row is not None and row["attempts"] == 1
    assert "runtime_errors" not in row["job_response"], row["job_response"]


async def test_the_rescue_never_takes_the_rescuing_process_s_own_jobs(
    store: JobStore, pool: asyncpg.Pool
) -> None:
    nodes, me, other = NodeStore(pool), uuid4(), uuid4()
    for node in (me, other):
        await nodes.register(node, "host", 1, ["first_time"])
    await store.create_many("noop", [{}, {}])
    mine = await store.claim("first_time", me, 1)
    theirs = await store.claim("first_time", other, 1)
    await pool.execute("UPDATE nodes SET heartbeat_at = now() - interval '1 hour'")
    moved = await nodes.rescue(30, 3, me)
    assert [r["uuid"] for r in moved] == [theirs[0].uuid]
    held = await store.get(mine[0].uuid)
    assert held is not None and held["status"] == "in_queue" and held["node_id"] == me


async def test_a_process_back_from_an_outage_longer_than_the_stale_window_keeps_its_jobs(
    proxy: CuttableProxy, pool: asyncpg.Pool, store: JobStore
) -> None:
    config = make_config(proxy.dsn(), node_heartbeat_seconds=0.2, node_stale_seconds=1.0,
                         rescue_interval_seconds=0.2)
    async with running_daemon(Daemon(config, _families(), ["rescue", "first_time"])):
        await store.create_many("sleep", [{"seconds": 4} for _ in range(3)])
        await eventually(lambda: _all(pool, "processing", 3), what="jobs running")
        await proxy.cut()
        await anyio.sleep(3)  # three stale windows without a heartbeat
        await proxy.start()
        await eventually(lambda: _all(pool, "completed", 3), timeout=30, what="jobs done")
    rows = await pool.fetch("SELECT attempts, rescues, job_response FROM jobs")
    assert [(r["attempts"], r["rescues"]) for r in rows] == [(1, 0)] * 3
    assert all("runtime_errors" not in r["job_response"] for r in rows), rows


async def test_jobs_taken_while_a_process_was_away_are_dropped_at_once_on_its_return(
    proxy: CuttableProxy, pool: asyncpg.Pool, store: JobStore, ledger: None
) -> None:
    config = make_config(proxy.dsn(), node_heartbeat_seconds=0.2, node_stale_seconds=1.0)
    async with running_daemon(Daemon(config, _families(), ["first_time"])):
        await store.create_many("ledger_run", [{"seconds": 8} for _ in range(2)])
        await eventually(lambda: _ledger_rows(pool, 2), what="both runs started")
        await proxy.cut()
        await anyio.sleep(1.5)
        # Another process's rescue takes them (their owner's heartbeat is stale).
        assert len(await NodeStore(pool).rescue(1.0, 3)) == 2
        await proxy.start()
        # The owner is back: it interrupts the two taken runs, claims the jobs afresh as
        # open jobs, and runs each once more to the end.
        await eventually(lambda: _all(pool, "completed", 2), timeout=40, what="jobs done")
    runs = await pool.fetch("SELECT job, finished FROM test_ledger ORDER BY id")
    assert len(runs) == 4, runs
    first, second = runs[:2], runs[2:]
    assert [r["finished"] for r in first] == [None, None], "taken runs were not stopped"
    assert all(r["finished"] is not None for r in second)


async def _all(pool: asyncpg.Pool, status: str, n: int) -> bool:
    return (await statuses(pool)).get(status, 0) == n


async def _ledger_rows(pool: asyncpg.Pool, n: int) -> bool:
    return int(await pool.fetchval("SELECT count(*) FROM test_ledger")) >= n


class NanResult:
    """Returns a result PostgreSQL cannot store as JSON."""

    name = "nan_result"
    payload_model = Seconds

    async def run(self, ctx: JobContext, payload: Seconds) -> dict[str, Any] | None:
        """NaN is not JSON: the database refuses the whole batch it is in."""
        return {"ratio": float("nan")}


async def test_a_result_the_database_refuses_is_recorded_as_an_error_and_blocks_no_one(
    db_dsn: str, store: JobStore, pool: asyncpg.Pool
) -> None:
    daemon = Daemon(make_config(db_dsn), families_with(NanResult()), ["first_time"])
    async with running_daemon(daemon):
        await store.create_many("noop", [{}] * 50)
        bad = await store.create("nan_result", {})
        await store.create_many("noop", [{}] * 50)
        await eventually(lambda: _all(pool, "completed", 101), what="every job recorded")
    row = await store.get(bad["uuid"])
    assert row is not None
    assert "result not stored" in row["job_response"]["runtime_errors"][0]


async def test_a_claim_whose_answer_was_lost_is_handed_back_when_the_process_checks(
    config: Any, store: JobStore, pool: asyncpg.Pool
) -> None:
    daemon = Daemon(config, _families(), ["first_time"])
    async with running_daemon(daemon):
        rt = daemon.runtime
        assert rt is not None
        # PostgreSQL committed this claim for the daemon, but the connection died before the
        # rows came back: the jobs are 'in_queue' under a live process that does not know them.
        await store.create_many("noop", [{}] * 5)
        await pool.execute("UPDATE jobs SET status = 'in_queue', node_id = $1, token = token + 1",
                           rt.node.id)
        await rt.node.beat()  # nothing says an outage happened: no check yet
        assert (await statuses(pool)).get("in_queue") == 5
        rt.health.outages += 1  # another loop saw the connection drop: the next beat checks
        await eventually(lambda: _all(pool, "completed", 5), what="lost claims run")
