"""Helpers for testing your own job types, loaded as a pytest plugin (entry point `pytest11`).

    from supervisor.testing import run_job, drain, assert_enqueued

    async def test_receipt_is_sent():
        result = await run_job("send_receipt", {"order": 7})
        assert result == {"messages": "sent"}

`run_job` runs a handler inline with a real context (progress, checkpoint, its family's
resources, cancellation); `drain(pool)` runs every due job of a database to completion in the
test process with the daemon's own lanes; `assert_enqueued` / `assert_not_enqueued` look at the
jobs table. See docs/client.md.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import anyio
import pytest

from supervisor.config import Config, load_config
from supervisor.families import Families, FamilyEnv, discover
from supervisor.jobtypes import JobContext
from supervisor.lanes.lane import Lane, LaneSettings
from supervisor.lanes.writer import StatusWriter
from supervisor.store.db import create_pool
from supervisor.store.jobs import JobStore

ACTIVE = ("open", "in_queue", "processing", "failed", "retry_in_queued")


@dataclass
class JobRun:
    """What one inline run reported: progress and checkpoints, in order."""

    progress: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    context: JobContext[Any] | None = None


@asynccontextmanager
async def _resources(found: Families, job_type: str, db: Any,
                     config: Config) -> AsyncIterator[Any]:
    lf = found.of_type(job_type)
    if lf is None or lf.family.resources is None:
        yield None
        return
    env = FamilyEnv(lf.settings, config, db, found.data_dir)
    async with lf.family.resources(env) as res:
        yield res


async def run_job(
    job_type: str, data: dict[str, Any] | None = None, *, resources: Any = None, db: Any = None,
    checkpoint: dict[str, Any] | None = None, attempt: int = 1, stop_reason: str | None = None,
    families: Families | None = None, record: JobRun | None = None,
) -> Any:
    """Run one job's handler inline and return its result (or raise its error).

    The payload is validated as at creation (JobInputError). Without `resources`, the job
    type's family opens its own (on `db`, the pool handed to jobs). `stop_reason` makes
    `ctx.should_stop()` true from the start, to test a job's stop path.
    """
    found = families or discover()
    config = load_config()
    if not found.configured:
        found.configure(config)
    jt = found.registry.get(job_type)
    payload = found.registry.parse(job_type, data or {})
    run = record if record is not None else JobRun()

    async def report(progress: dict[str, Any]) -> None:
        run.progress.append(progress)

    async def save(state: dict[str, Any]) -> None:
        run.checkpoints.append(json.loads(json.dumps(state)))  # what the database would keep

    async with AsyncExitStack() as stack:
        if resources is None:
            resources = await stack.enter_async_context(_resources(found, job_type, db, config))
        ctx: JobContext[Any] = JobContext(uuid4(), job_type, attempt, resources, db=db,
                                          checkpoint_state=checkpoint, report=report,
                                          saver=save)
        ctx.stop_reason = stop_reason
        run.context = ctx
        return await jt.run(ctx, payload)


async def _busy(pool: Any) -> int:
    """Jobs due now or held by a lane."""
    n: int = await pool.fetchval(
        "SELECT count(*) FROM jobs WHERE status IN ('in_queue', 'processing', 'retry_in_queued')"
        " OR (status = 'open' AND (run_after IS NULL OR run_after <= now()))"
        " OR (status = 'failed' AND run_after <= now())")
    return n


async def drain(target: Any, *, families: Families | None = None, timeout: float = 60.0) -> int:
    """Run every due job of a database to completion; how many runs finished.

    `target` is the database's DSN, or a pool made by supervisor.store.db.create_pool (the
    runtime's JSON codecs). Jobs run through the daemon's own first-time and retry lanes in
    this process, so they end exactly as under the daemon (retries due at once run too);
    jobs due later (run_after in the future) are left alone.
    """
    async with AsyncExitStack() as stack:
        pool = target
        if isinstance(target, str):
            pool = await create_pool(target, min_size=1, max_size=4)
            stack.push_async_callback(pool.close)
        elif not isinstance(await pool.fetchval("SELECT '{}'::jsonb"), dict):
            raise TypeError("drain() needs the database's DSN, or a pool made by "
                            "supervisor.store.db.create_pool (a plain asyncpg pool has no "
                            "JSON codecs)")
        found = families or discover()
        await found.open_resources(stack, load_config(), pool)
        return await _run_lanes(pool, found, timeout)


async def _run_lanes(pool: Any, found: Families, timeout: float) -> int:
    store = JobStore(pool)
    writer = StatusWriter(store)
    stopping, writer_stop = asyncio.Event(), asyncio.Event()
    wake = {"first_time": asyncio.Event(), "retry": asyncio.Event()}
    lanes = [Lane(LaneSettings(name, 4, 100, 100, 0.05, 5.0,
                               resources=found.resources_by_type(), db=pool),
                  store=store, writer=writer, registry=found.registry, node_id=uuid4(),
                  wake=wake[name]) for name in ("first_time", "retry")]
    with anyio.fail_after(timeout):
        async with anyio.create_task_group() as tg:
            await tg.start(writer.run, writer_stop)
            for lane in lanes:
                await tg.start(lane.run, stopping)
            while await _busy(pool) or writer.pending():
                await anyio.sleep(0.02)
            stopping.set()
            writer_stop.set()
    return writer.finished_total


async def _matching(conn: Any, job_type: str, data_subset: dict[str, Any] | None) -> list[Any]:
    rows: list[Any] = await conn.fetch(
        "SELECT uuid, data::text AS data FROM jobs WHERE job_type = $1 AND status = ANY($2)"
        " AND data @> $3::text::jsonb ORDER BY id",
        job_type, list(ACTIVE), json.dumps(data_subset or {}))
    return rows


async def assert_enqueued(conn: Any, job_type: str,
                          data_subset: dict[str, Any] | None = None) -> list[UUID]:
    """The uuids of waiting jobs of `job_type` whose data contains `data_subset`; fails if none."""
    rows = await _matching(conn, job_type, data_subset)
    if not rows:
        others = await conn.fetch(
            "SELECT job_type, data::text AS data FROM jobs WHERE status = ANY($1)"
            " ORDER BY id DESC LIMIT 5", list(ACTIVE))
        seen = "; ".join(f"{r['job_type']} {r['data']}" for r in others) or "no waiting jobs"
        raise AssertionError(f"no waiting {job_type!r} job with data containing "
                             f"{data_subset or {}}; newest waiting: {seen}")
    return [r["uuid"] for r in rows]


async def assert_not_enqueued(conn: Any, job_type: str,
                              data_subset: dict[str, Any] | None = None) -> None:
    """Fail if a waiting job of `job_type` has data containing `data_subset`."""
    rows = await _matching(conn, job_type, data_subset)
    if rows:
        raise AssertionError(f"{len(rows)} waiting {job_type!r} job(s) with data containing "
                             f"{data_subset or {}}, e.g. {rows[0]['uuid']} {rows[0]['data']}")


@pytest.fixture
def supervisor_families() -> Families:
    """The installed job families, settings checked (fixture of the supervisor plugin)."""
    found = discover()
    found.configure(load_config())
    return found


__all__ = ["JobRun", "assert_enqueued", "assert_not_enqueued", "drain", "run_job",
           "supervisor_families"]
