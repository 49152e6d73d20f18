"""The pytest plugin as an application uses it: a test file of its own, run with pytester."""

from __future__ import annotations

import pytest

USER_JOBS = '''
from pydantic import BaseModel

class Greeting(BaseModel):
    name: str

class Greet:
    name = "greet"
    payload_model = Greeting

    async def run(self, ctx, payload):
        await ctx.progress(1, 1, "greeted")
        if payload.name == "nobody":
            raise ValueError("nobody to greet")
        return {"messages": f"hello {payload.name}"}

JOB_TYPES = (Greet(),)
'''

USER_TESTS = '''
import os

import asyncpg
import pytest

from supervisor import client
from supervisor.testing import JobRun, assert_enqueued, drain, run_job


async def test_greet_inline():
    run = JobRun()
    assert await run_job("greet", {"name": "Ada"}, record=run) == {"messages": "hello Ada"}
    assert run.progress[-1]["message"] == "greeted"


async def test_greet_fails_for_nobody():
    with pytest.raises(ValueError, match="nobody"):
        await run_job("greet", {"name": "nobody"})


async def test_enqueued_then_drained(supervisor_families):
    assert "greet" in supervisor_families.registry.names()
    pool = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=1, max_size=4)
    try:
        async with pool.acquire() as conn:
            await client.enqueue(conn, "greet", {"name": "Grace"})
        await assert_enqueued(pool, "greet", {"name": "Grace"})
        assert await drain(os.environ["DATABASE_URL"]) == 1
        with pytest.raises(TypeError, match="create_pool"):
            await drain(pool)
        status = await pool.fetchval("SELECT status FROM jobs WHERE job_type = 'greet'")
        assert status == "completed"
    finally:
        await pool.close()
'''


def test_a_users_test_file_uses_the_plugin(
    pytester: pytest.Pytester, db_dsn: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytester.makepyfile(greetjobs=USER_JOBS, test_greet=USER_TESTS)
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\nasyncio_mode = "auto"\n'
                               'asyncio_default_fixture_loop_scope = "function"\n'
                               'filterwarnings = ["error"]\n')
    monkeypatch.setenv("SUPERVISOR_JOB_MODULES", "greetjobs")
    monkeypatch.setenv("DATABASE_URL", db_dsn)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:anyio")
    result.assert_outcomes(passed=3)
