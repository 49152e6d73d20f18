"""The daemon's lanes end to end in one process: run, fail, retry, backpressure, drain."""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any

import anyio
import asyncpg
import pytest
from pydantic import BaseModel

from supervisor.config import Config
from supervisor.daemon import Daemon
from supervisor.jobtypes import JobContext
from supervisor.store.jobs import JobStore
from tests.conftest import make_config
from tests.helpers import eventually, families_with, running_daemon, statuses


class GatePayload(BaseModel):
    """No fields."""


class Gate:
    """A job that blocks until the test opens the gate; counts how many are inside."""

    name = "gate"
    payload_model = GatePayload

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.inside = 0
        self.peak = 0

    async def run(self, ctx: JobContext, payload: GatePayload) -> dict[str, Any] | None:
        self.inside += 1
        self.peak = max(self.peak, self.inside)
        try:
            await self.open.wait()
        finally:
            self.inside -= 1
        return {"messages": "through the gate"}


async def test_jobs_complete_with_a_full_record(config: Config, store: JobStore,
                                                pool: asyncpg.Pool) -> None:
    daemon = Daemon(config, families_with())
    async with running_daemon(daemon):
        uuids = [(await store.create("noop", {"i": i}))["uuid"] for i in range(50)]
        await eventually(lambda: _all_in(pool, "completed", 50), what="50 completed")
    for uuid in uuids:
        row = await store.get(uuid)
        assert row is not None
        assert row["status"] == "completed" and row["attempts"] == 1
        assert row["node_id"] is not None
        assert row["ran_on"] == f"{socket.gethostname()}:{os.getpid()}"
        assert row["started_at"] <= row["finished_at"]


async def test_failing_job_is_retried_then_dead_with_every_error(
    db_dsn: str, store: JobStore, pool: asyncpg.Pool
) -> None:
    config = make_config(db_dsn, retry_backoff="fixed")
    daemon = Daemon(config, families_with())
    async with running_daemon(daemon):
        job = await store.create("sleep", {"fail": True}, retry_count=2, retry_interval=0)
        await eventually(lambda: _all_in(pool, "dead", 1), what="job dead")
    row = await store.get(job["uuid"])
    assert row is not None
    assert row["attempts"] == 3 and row["run_after"] is None
    errors = row["job_response"]["runtime_errors"]
    assert [e.split(":")[0] for e in errors] == ["attempt 1", "attempt 2", "attempt 3"]
    assert "asked to fail" in errors[0]


async def test_a_manual_retry_of_a_dead_job_numbers_runs_on_and_renews_its_retries(
    db_dsn: str, store: JobStore, pool: asyncpg.Pool
) -> None:
    config = make_config(db_dsn, retry_backoff="fixed")
    job = await store.create("sleep", {"fail": True}, retry_count=1, retry_interval=0)
    async with running_daemon(Daemon(config, families_with())):
        await eventually(lambda: _all_in(pool, "dead", 1), what="job dead")
        dead = await store.get(job["uuid"])
        reopened = await store.retry_now(job["uuid"])
        assert reopened is not None and reopened["started_at"] is None
        assert reopened["finished_at"] is None
        await eventually(lambda: _all_in(pool, "dead", 1), what="job dead again")
    row = await store.get(job["uuid"])
    assert dead is not None and row is not None
    errors = [e.split(":")[0] for e in row["job_response"]["runtime_errors"]]
    assert errors == ["attempt 1", "attempt 2", "attempt 3", "attempt 4"]  # 2 runs each time
    assert row["attempts"] == 4 and row["started_at"] > dead["started_at"]


async def test_unknown_type_in_the_table_fails_the_job_not_the_daemon(
    config: Config, store: JobStore, pool: asyncpg.Pool
) -> None:
    daemon = Daemon(config, families_with())
    async with running_daemon(daemon):
        bad = await store.create("no_such_type", {})
        good = await store.create("noop", {})
        await eventually(lambda: _all_in(pool, "completed", 1), what="good job done")
        await eventually(lambda: _all_in(pool, "dead", 1), what="bad job dead")
    row = await store.get(bad["uuid"])
    assert row is not None and "unknown job type" in row["job_response"]["runtime_errors"][0]
    assert (await store.get(good["uuid"]) or {})["status"] == "completed"


async def test_backpressure_holds_at_most_queue_size_plus_workers(
    db_dsn: str, store: JobStore, pool: asyncpg.Pool
) -> None:
    gate = Gate()
    config = make_config(db_dsn, job_in_queue_size=5, parallel_jobs=2, job_worker_batch=100)
    daemon = Daemon(config, families_with(gate), only=["first_time"])
    await store.create_many("gate", [{} for _ in range(200)])
    async with running_daemon(daemon):
        await eventually(lambda: _held(pool, 2, "processing"), what="both workers busy")
        await anyio.sleep(0.5)  # give a misbehaving runner the chance to over-claim
        counts = await statuses(pool)
        # The queue refills only below half full, so it holds 3 to 5 besides the 2 running.
        assert 3 <= counts["in_queue"] <= 5
        assert counts["open"] == 200 - 2 - counts["in_queue"]
        assert daemon.runtime is not None
        claims = daemon.runtime.lanes["first_time"].queue
        assert claims is not None and len(claims) == counts["in_queue"]
        gate.open.set()
        await eventually(lambda: _all_in(pool, "completed", 200), what="all 200 done")
    assert gate.peak == 2


async def test_shutdown_returns_queued_and_interrupted_jobs_without_an_attempt(
    db_dsn: str, store: JobStore, pool: asyncpg.Pool
) -> None:
    gate = Gate()
    config = make_config(db_dsn, job_in_queue_size=10, parallel_jobs=2,
                         shutdown_grace_seconds=0.2)
    daemon = Daemon(config, families_with(gate), only=["first_time"])
    await store.create_many("gate", [{} for _ in range(20)])
    async with running_daemon(daemon):
        await eventually(lambda: _held(pool, 2, "processing"), what="both workers busy")
        assert (await statuses(pool))["in_queue"] >= 1
    counts = await statuses(pool)
    assert counts == {"open": 20}
    attempts = await pool.fetchval("SELECT max(attempts) + max(rescues) FROM jobs")
    assert attempts == 0
    assert await pool.fetchval("SELECT count(*) FROM nodes WHERE stopped_at IS NOT NULL") == 1


async def test_running_jobs_finish_within_the_grace_period(
    db_dsn: str, store: JobStore, pool: asyncpg.Pool
) -> None:
    config = make_config(db_dsn, shutdown_grace_seconds=30)
    daemon = Daemon(config, families_with(), only=["first_time"])
    async with running_daemon(daemon):
        job = await store.create("sleep", {"seconds": 0.5})
        await eventually(lambda: _held(pool, 1, "processing"), what="job running")
    row = await store.get(job["uuid"])
    assert row is not None and row["status"] == "completed"


async def test_cancel_interrupts_a_running_job(config: Config, store: JobStore,
                                               pool: asyncpg.Pool) -> None:
    gate = Gate()
    daemon = Daemon(config, families_with(gate), only=["first_time"])
    async with running_daemon(daemon):
        job = await store.create("gate", {})
        await eventually(lambda: _held(pool, 1, "processing"), what="job running")
        await store.cancel(job["uuid"])
        await eventually(lambda: _inside_is_zero(gate), what="handler interrupted")
    row = await store.get(job["uuid"])
    assert row is not None and row["status"] == "cancelled"


async def test_rescue_service_returns_jobs_of_a_dead_process(
    config: Config, store: JobStore, pool: asyncpg.Pool
) -> None:
    from uuid import uuid4

    from supervisor.store.nodes import NodeStore

    ghost = uuid4()
    await NodeStore(pool).register(ghost, "gone", 1, ["first_time"])
    job = await store.create("noop", {})
    await store.claim("first_time", ghost, 1)
    await pool.execute("UPDATE nodes SET heartbeat_at = now() - interval '1 hour'")
    daemon = Daemon(config, families_with())
    async with running_daemon(daemon):
        await eventually(lambda: _all_in(pool, "completed", 1), what="rescued job completed")
    row = await store.get(job["uuid"])
    assert row is not None and row["attempts"] == 1


async def _all_in(pool: asyncpg.Pool, status: str, n: int) -> bool:
    return (await statuses(pool)).get(status, 0) == n


async def _held(pool: asyncpg.Pool, n: int, only: str | None = None) -> bool:
    counts = await statuses(pool)
    if only:
        return counts.get(only, 0) == n
    return counts.get("in_queue", 0) + counts.get("processing", 0) == n


async def _inside_is_zero(gate: Gate) -> bool:
    return gate.inside == 0


class Crasher:
    """A service that fails a while after it started."""

    def __init__(self, go: asyncio.Event) -> None:
        self.go = go

    async def run(self, stopping: asyncio.Event, *, task_status: Any) -> None:
        task_status.started()
        await self.go.wait()
        raise RuntimeError("crash on purpose")


async def test_a_crashed_daemon_hands_back_what_it_held(
    db_dsn: str, store: JobStore, pool: asyncpg.Pool, monkeypatch: Any
) -> None:
    from supervisor import daemon as daemon_module
    from supervisor.runtime.supervise import ServiceFailed

    gate, go = Gate(), asyncio.Event()
    monkeypatch.setitem(daemon_module.FACTORIES, "crasher", lambda rt: Crasher(go))
    config = make_config(db_dsn, restart_limit=0, job_in_queue_size=10, parallel_jobs=2)
    daemon = Daemon(config, families_with(gate), only=["first_time", "crasher"])
    await store.create_many("gate", [{} for _ in range(20)])
    with pytest.raises(BaseExceptionGroup) as failure:
        async with anyio.create_task_group() as tg:
            tg.start_soon(daemon.run)
            await eventually(lambda: _held(pool, 2, "processing"), what="both workers busy")
            go.set()
    assert failure.group_contains(ServiceFailed)
    assert await statuses(pool) == {"open": 20}
    assert await pool.fetchval("SELECT count(*) FROM nodes WHERE stopped_at IS NULL") == 0
