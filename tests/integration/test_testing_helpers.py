"""supervisor.testing: run a job inline, drain a database, assert what is enqueued."""

from __future__ import annotations

import asyncpg
import pytest

from supervisor.errors import JobStopped
from supervisor.jobtypes import JobInputError
from supervisor.store.jobs import JobStore
from supervisor.testing import JobRun, assert_enqueued, assert_not_enqueued, drain, run_job


async def test_run_job_returns_the_result_and_records_progress() -> None:
    record = JobRun()
    result = await run_job("sleep", {"seconds": 0.01}, record=record)
    assert result == {"messages": "slept 0.01s"}
    assert record.progress[-1]["done"] == 0.01


async def test_run_job_raises_the_jobs_error_and_validates_the_payload() -> None:
    with pytest.raises(RuntimeError, match="asked to fail"):
        await run_job("sleep", {"fail": True})
    with pytest.raises(JobInputError, match=r"job_data\.seconds"):
        await run_job("sleep", {"seconds": -1})


async def test_run_job_can_start_with_a_stop_request() -> None:
    from supervisor.families import Families, Family, discover
    from supervisor.jobtypes import JobContext
    from tests.integration.test_job_contract import Anything

    class Careful:
        name = "careful"
        payload_model = Anything

        async def run(self, ctx: JobContext[None], payload: Anything) -> None:
            await ctx.checkpoint({"at": 1})
            if ctx.should_stop():
                ctx.stop()

    found = Families([*(lf.family for lf in discover()), Family("t", job_types=(Careful(),))])
    record = JobRun()
    with pytest.raises(JobStopped, match="shutdown"):
        await run_job("careful", {}, families=found, stop_reason="shutdown", record=record)
    assert record.checkpoints == [{"at": 1}]


async def test_drain_runs_every_due_job_and_asserts_see_them(
    store: JobStore, pool: asyncpg.Pool,
) -> None:
    await store.create("noop", {"order": 7})
    await store.create("sleep", {"fail": True}, retry_count=1, retry_interval=0)
    uuids = await assert_enqueued(pool, "noop", {"order": 7})
    assert len(uuids) == 1
    await assert_not_enqueued(pool, "noop", {"order": 8})
    with pytest.raises(AssertionError, match="no waiting 'noop' job with data containing"):
        await assert_enqueued(pool, "noop", {"order": 8})
    finished = await drain(pool)
    assert finished == 3  # the noop, and both runs of the failing sleep
    rows = {r["job_type"]: r["status"] for r in await pool.fetch("SELECT * FROM jobs")}
    assert rows == {"noop": "completed", "sleep": "dead"}
    await assert_not_enqueued(pool, "noop")
