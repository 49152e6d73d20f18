"""What a running job gets from the runtime: resources, checkpoints, stops, timeouts, errors."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
from pydantic import BaseModel, ConfigDict

from supervisor.config import Config
from supervisor.daemon import Daemon
from supervisor.errors import PermanentError, RetryAfter
from supervisor.families import Families, Family, FamilyEnv, discover
from supervisor.jobtypes import JobContext, JobDefaults
from supervisor.store.jobs import JobStore
from tests.conftest import make_config
from tests.helpers import eventually, running_daemon


class Anything(BaseModel):
    """Any fields."""

    model_config = ConfigDict(extra="allow")


@dataclass
class Resources:
    """A family's resources as a test sees them."""

    opened: int = 0
    closed: int = 0
    seen: list[Any] = field(default_factory=list)


class Kind:
    """A job type that does what its name says."""

    payload_model = Anything

    def __init__(self, name: str, behave: Any, defaults: JobDefaults | None = None) -> None:
        self.name = name
        self.behave = behave
        self.defaults = defaults or JobDefaults()

    async def run(self, ctx: JobContext[Resources], payload: Anything) -> dict[str, Any] | None:
        result: dict[str, Any] | None = await self.behave(ctx)
        return result


def family_of(*types: Kind, resources: Resources | None = None) -> Families:
    """The installed families plus a test family whose resources are `resources`."""
    res = resources or Resources()

    @asynccontextmanager
    async def open_resources(env: FamilyEnv) -> AsyncIterator[Resources]:
        res.opened += 1
        res.seen.append(env.job_pool)
        try:
            yield res
        finally:
            res.closed += 1

    fam = Family("contract", job_types=types, resources=open_resources)
    return Families([*(lf.family for lf in discover()), fam])


async def _status(store: JobStore, uuid: Any) -> str:
    row = await store.get(uuid)
    return "" if row is None else str(row["status"])


async def _wait_status(store: JobStore, uuid: Any, status: str) -> asyncpg.Record:
    async def check() -> bool:
        return await _status(store, uuid) == status

    await eventually(check, what=f"job {status}")
    row = await store.get(uuid)
    assert row is not None
    return row


async def test_resources_are_opened_once_handed_to_jobs_and_closed(
    config: Config, store: JobStore, pool: asyncpg.Pool,
) -> None:
    res = Resources()
    seen: list[Any] = []

    async def look(ctx: JobContext[Resources]) -> None:
        seen.append((ctx.resources, ctx.db))

    daemon = Daemon(config, family_of(Kind("look", look), resources=res))
    async with running_daemon(daemon):
        for _ in range(3):
            await _wait_status(store, (await store.create("look", {}))["uuid"], "completed")
        assert daemon.runtime is not None
        control_pool = daemon.runtime.pool
    assert res.opened == 1 and res.closed == 1
    assert all(r is res for r, _ in seen)
    assert all(db is res.seen[0] and db is not control_pool for _, db in seen)


async def test_permanent_error_ends_the_job_dead_without_spending_retries(
    config: Config, store: JobStore,
) -> None:
    async def broken(ctx: JobContext[Resources]) -> None:
        raise PermanentError("object 'a.csv' does not exist; upload it first")

    async with running_daemon(Daemon(config, family_of(Kind("broken", broken)))):
        job = await store.create("broken", {}, retry_count=5, retry_interval=0)
        row = await _wait_status(store, job["uuid"], "dead")
    assert row["attempts"] == 1
    errors = row["job_response"]["runtime_errors"]
    assert errors == ["attempt 1: PermanentError: object 'a.csv' does not exist; upload it first"]
    trace = row["job_response"]["tracebacks"][0]
    assert trace["error"] == errors[0]
    assert "Traceback" in trace["traceback"] and "in broken" in trace["traceback"]


async def test_retry_after_sets_the_next_try(config: Config, store: JobStore) -> None:
    async def busy(ctx: JobContext[Resources]) -> None:
        raise RetryAfter(3600, "peer is rate limiting")

    async with running_daemon(Daemon(config, family_of(Kind("busy", busy)))):
        job = await store.create("busy", {}, retry_count=2, retry_interval=1)
        row = await _wait_status(store, job["uuid"], "failed")
    wait = (row["run_after"] - datetime.now(UTC)).total_seconds()
    assert 3500 < wait <= 3600
    assert "peer is rate limiting" in row["job_response"]["runtime_errors"][0]


async def test_checkpoint_reaches_the_next_attempt(config: Config, store: JobStore) -> None:
    seen: list[Any] = []

    async def resumable(ctx: JobContext[Resources]) -> dict[str, Any]:
        seen.append(ctx.checkpoint_state)
        if ctx.attempt == 1:
            await ctx.checkpoint({"offset": 1200, "line": 40})
            raise RuntimeError("connection to S3 reset")
        return {"resumed_from": ctx.checkpoint_state}

    async with running_daemon(Daemon(config, family_of(Kind("resumable", resumable)))):
        job = await store.create("resumable", {}, retry_count=1, retry_interval=0)
        row = await _wait_status(store, job["uuid"], "completed")
    assert seen == [None, {"offset": 1200, "line": 40}]
    assert row["job_response"]["resumed_from"] == {"offset": 1200, "line": 40}


async def test_timeout_interrupts_and_records_a_failure(config: Config, store: JobStore) -> None:
    async def slow(ctx: JobContext[Resources]) -> None:
        await ctx.progress(1, 10)
        import anyio

        await anyio.sleep(60)

    kind = Kind("slow", slow, JobDefaults(timeout=0.3))
    async with running_daemon(Daemon(config, family_of(kind))):
        job = await store.create("slow", {})
        row = await _wait_status(store, job["uuid"], "dead")
    assert row["job_response"]["runtime_errors"] == [
        "attempt 1: TimeoutError: timed out after 0.3 s"]


async def test_shutdown_asks_jobs_to_stop_and_keeps_their_checkpoint(
    config: Config, store: JobStore,
) -> None:
    import anyio

    async def cooperative(ctx: JobContext[Resources]) -> None:
        n = (ctx.checkpoint_state or {}).get("n", 0)
        while True:
            n += 1
            await ctx.checkpoint({"n": n})
            if ctx.should_stop():
                ctx.stop()
            await anyio.sleep(0.02)

    daemon = Daemon(config.with_overrides(shutdown_grace_seconds=30),
                    family_of(Kind("cooperative", cooperative)))
    clock = time.monotonic()
    async with running_daemon(daemon):
        job = await store.create("cooperative", {})
        await _wait_status(store, job["uuid"], "processing")
    assert time.monotonic() - clock < 25  # it stopped when asked, not at the end of the grace
    row = await store.get(job["uuid"])
    assert row is not None
    assert row["status"] == "open" and row["attempts"] == 0  # handed back, no attempt used
    assert row["checkpoint"]["n"] >= 1


async def test_cpu_heavy_job_off_the_loop_keeps_the_node_fresh(
    db_dsn: str, store: JobStore, pool: asyncpg.Pool,
) -> None:
    def spin(seconds: float) -> int:
        end, n = time.monotonic() + seconds, 0
        while time.monotonic() < end:
            n += 1
        return n

    async def heavy(ctx: JobContext[Resources]) -> dict[str, Any]:
        return {"loops": await ctx.to_thread(spin, 4.0)}

    config = make_config(db_dsn, node_heartbeat_seconds=0.2, node_stale_seconds=1.0)
    ages: list[float] = []
    async with running_daemon(Daemon(config, family_of(Kind("heavy", heavy)))):
        job = await store.create("heavy", {})

        async def done() -> bool:
            ages.append(await pool.fetchval(
                "SELECT max(extract(epoch FROM now() - heartbeat_at)) FROM nodes"
                " WHERE stopped_at IS NULL"))
            return await _status(store, job["uuid"]) == "completed"

        await eventually(done, what="heavy job done")
    row = await store.get(job["uuid"])
    assert row is not None and row["rescues"] == 0 and row["attempts"] == 1
    assert max(ages) < 1.0  # four seconds of CPU, and the heartbeat never went stale
