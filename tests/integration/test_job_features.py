"""Priority, unique jobs and per-job timeouts on a real PostgreSQL, through every face."""

from __future__ import annotations

import asyncio
import json
from uuid import UUID, uuid4

import anyio
import asyncpg
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from supervisor.cli import app
from supervisor.config import Config
from supervisor.families import discover
from supervisor.jobtypes import JobDefaults, Registry
from supervisor.lanes.limits import ConcurrencyLimits, limits_of
from supervisor.store.db import create_pool
from supervisor.store.jobs import JobStore
from supervisor.store.ports import TypeCap
from supervisor.store.sql import q
from supervisor.submit import create_job
from tests.integration.api_support import api_client
from tests.unit.lane_support import Gate, lane, running, until

CREATE = "/common/jobs/create"


def _registry() -> Registry:
    return discover().registry


async def test_claims_take_the_lowest_priority_number_first(store: JobStore) -> None:
    registry = _registry()
    made = {}
    for n, priority in enumerate([5, 9, 0, 5, 3, 0]):
        made[n] = (await create_job(store, registry, "noop", {"n": n}, priority=priority)).uuid
    claimed = await store.claim("first_time", uuid4(), 10)
    assert [c.data["n"] for c in claimed] == [2, 5, 4, 0, 3, 1]


async def test_retries_due_are_claimed_in_priority_order(store: JobStore, pool: asyncpg.Pool,
                                                         ) -> None:
    await pool.execute(
        "INSERT INTO jobs (job_type, status, run_after, priority, data) VALUES "
        "('noop', 'failed', now() - interval '2 s', 7, '{\"n\": 0}'), "
        "('noop', 'failed', now() - interval '1 s', 1, '{\"n\": 1}'), "
        "('noop', 'failed', now() + interval '1 h', 0, '{\"n\": 2}')")
    claimed = await store.claim("retry", uuid4(), 10)
    assert [c.data["n"] for c in claimed] == [1, 0]


async def test_priority_outside_0_to_9_is_refused_by_the_database_too(pool: asyncpg.Pool,
                                                                      ) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await pool.execute("INSERT INTO jobs (job_type, priority) VALUES ('noop', 10)")


async def test_a_duplicate_answers_the_existing_uuid_until_that_job_ends(
    store: JobStore, pool: asyncpg.Pool,
) -> None:
    registry = _registry()
    first = await create_job(store, registry, "noop", {}, unique_key="import:a.csv")
    again = await create_job(store, registry, "noop", {"other": 1}, unique_key="import:a.csv")
    assert not first.duplicate and again.duplicate and again.uuid == first.uuid
    assert await pool.fetchval("SELECT count(*) FROM jobs") == 1
    await pool.execute("UPDATE jobs SET status = 'completed'")
    later = await create_job(store, registry, "noop", {}, unique_key="import:a.csv")
    assert not later.duplicate and later.uuid != first.uuid


async def test_unique_states_choose_what_counts_as_a_duplicate(store: JobStore,
                                                               pool: asyncpg.Pool) -> None:
    registry = _registry()
    first = await create_job(store, registry, "noop", {}, unique_key="k",
                             unique_states=["open", "completed"])
    await pool.execute("UPDATE jobs SET status = 'completed'")
    again = await create_job(store, registry, "noop", {}, unique_key="k",
                             unique_states=["open", "completed"])
    assert again.duplicate and again.uuid == first.uuid
    other = await create_job(store, registry, "noop", {}, unique_key="k",
                             unique_states=["open"])
    assert not other.duplicate


async def test_racing_creates_of_one_key_make_one_job(db_dsn: str) -> None:
    registry = _registry()
    pools = [await create_pool(db_dsn, min_size=1, max_size=1) for _ in range(6)]
    try:
        results = await asyncio.gather(*(
            create_job(JobStore(p), registry, "noop", {}, unique_key="race") for p in pools))
        count = await pools[0].fetchval("SELECT count(*) FROM jobs")
    finally:
        for p in pools:
            await p.close()
    assert count == 1
    assert len({r.uuid for r in results}) == 1
    assert sorted(r.duplicate for r in results) == [False] + [True] * 5


async def test_python_create_refuses_what_the_api_refuses(store: JobStore) -> None:
    with pytest.raises(ValidationError, match=r"job_data\.a"):
        await create_job(store, _registry(), "noop", {"a": float("nan")})
    with pytest.raises(ValidationError, match="priority"):
        await create_job(store, _registry(), "noop", {}, priority=12)


async def test_timeout_fills_the_jobs_column(store: JobStore, pool: asyncpg.Pool) -> None:
    made = await create_job(store, _registry(), "noop", {}, timeout=90.5)
    plain = await create_job(store, _registry(), "noop", {})
    rows = dict(await pool.fetch("SELECT uuid, timeout_seconds FROM jobs"))
    assert rows == {made.uuid: 90.5, plain.uuid: None}


async def test_api_create_takes_the_new_fields_and_answers_duplicates(
    pool: asyncpg.Pool, config: Config,
) -> None:
    async with api_client(pool, config) as (client, _):
        body = {"job_type": "noop", "job_data": {}, "priority": 1, "timeout": 30,
                "unique_key": "nightly"}
        r = await client.post(CREATE, json=body)
        assert r.status_code == 201 and r.json()["duplicate"] is False
        uuid = r.json()["uuid"]
        again = await client.post(CREATE, json=body)
        assert again.status_code == 200, again.text
        assert (again.json()["uuid"], again.json()["duplicate"]) == (uuid, True)
        assert "Duplicate job" in again.json()["message"]
        row = await pool.fetchrow("SELECT priority, timeout_seconds, unique_key FROM jobs")
        assert tuple(row) == (1, 30.0, "nightly")


@pytest.mark.parametrize(("field", "value", "code"), [
    ("priority", 10, "ERR_INVALID_PRIORITY"), ("priority", -1, "ERR_INVALID_PRIORITY"),
    ("timeout", 0, "ERR_INVALID_TIMEOUT"), ("timeout", -1.5, "ERR_INVALID_TIMEOUT"),
    ("unique_key", "k" * 201, "ERR_INVALID_UNIQUE_KEY"),
    ("retry_interval", 2**31, "ERR_INVALID_RETRY_INTERVAL"),
])
async def test_api_refuses_out_of_range_fields_naming_them(
    pool: asyncpg.Pool, config: Config, field: str, value: object, code: str,
) -> None:
    async with api_client(pool, config) as (client, _):
        r = await client.post(CREATE, json={"job_type": "noop", "job_data": {}, field: value})
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith(code) and r.json()["field"] == field


@pytest.mark.parametrize("raw", [b'{"a": NaN}', b'{"a": Infinity}', b'{"a": 1e999}',
                                 b'{"a": {"b": ["\\u0000"]}}'])
async def test_api_names_the_unstorable_value(pool: asyncpg.Pool, config: Config,
                                              raw: bytes) -> None:
    async with api_client(pool, config) as (client, _):
        r = await client.post(CREATE, content=b'{"job_type": "noop", "job_data": ' + raw + b"}",
                              headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith("ERR_INVALID_JOB_DATA: job_data.a")
    assert r.json()["field"].startswith("job_data.a")


async def _cli(dsn: str, *args: str) -> tuple[int, str, str]:
    env = {"DATABASE_URL": dsn, "SUPERVISOR_CONFIG": "/dev/null", "LOG_FORMAT": "plain"}

    def invoke() -> tuple[int, str, str]:
        result = CliRunner().invoke(app, list(args), env=env)
        return result.exit_code, result.stdout, result.stderr

    return await anyio.to_thread.run_sync(invoke)


async def test_cli_create_prints_the_duplicates_uuid_and_says_so(db_dsn: str) -> None:
    code, out, err = await _cli(db_dsn, "job", "create", "noop", "--unique-key", "k1",
                                "--priority", "2", "--timeout", "60")
    assert code == 0, out + err
    uuid = UUID(out.strip())
    code, out2, err2 = await _cli(db_dsn, "job", "create", "noop", "--unique-key", "k1")
    assert code == 0 and UUID(out2.strip()) == uuid
    assert f"duplicate: job {uuid} already has unique key 'k1'" in err2
    code, shown, _ = await _cli(db_dsn, "job", "show", str(uuid), "--json")
    job = json.loads(shown)
    assert (job["priority"], job["timeout_seconds"], job["unique_key"]) == (2, 60.0, "k1")


async def test_global_limit_holds_across_processes(store: JobStore, db_dsn: str) -> None:
    await store.create_many("sleep", [{} for _ in range(20)])
    await store.create_many("noop", [{} for _ in range(5)])
    caps = [TypeCap("sleep", room=100, global_limit=3)]
    pools = [await create_pool(db_dsn, min_size=1, max_size=1) for _ in range(4)]
    try:
        results = await asyncio.gather(*(
            JobStore(p).claim("first_time", uuid4(), 10, caps) for p in pools))
    finally:
        for p in pools:
            await p.close()
    types = [j.job_type for batch in results for j in batch]
    assert types.count("sleep") == 3 and types.count("noop") == 5


async def test_per_process_room_caps_one_claim(store: JobStore, pool: asyncpg.Pool) -> None:
    await store.create_many("sleep", [{} for _ in range(10)])
    await pool.execute("UPDATE jobs SET status = 'failed', run_after = now() - interval '1 s', "
                       "attempts = 1")
    got = await store.claim("retry", uuid4(), 10, [TypeCap("sleep", room=2)])
    assert len(got) == 2
    assert await store.claim("retry", uuid4(), 10, [TypeCap("sleep", room=0)]) == []


async def test_a_limited_type_claim_does_not_walk_the_other_types(
        store: JobStore, pool: asyncpg.Pool) -> None:
    # A daemon with any limited type (segmentation has one) claims through the capped query:
    # finding the limited type's open jobs must not read every open job of the others.
    await store.create_many("noop", [{} for _ in range(3000)])
    await store.create_many("sleep", [{} for _ in range(3)])
    await pool.execute("ANALYZE jobs")
    plan = await pool.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + q("claim_open_capped"),
                               uuid4(), 50, ["sleep"], [1], [None])
    removed: list[int] = []

    def walk(node: dict[str, object]) -> None:
        removed.append(int(node.get("Rows Removed by Filter", 0)))  # type: ignore[call-overload]
        for child in node.get("Plans", []):  # type: ignore[attr-defined]
            walk(child)

    walk(plan[0]["Plan"])  # the pool decodes json
    assert max(removed) < 100, removed


async def test_global_limit_holds_for_two_processes_running_jobs(db_dsn: str) -> None:
    gate = Gate("gate", JobDefaults(global_concurrency=2))
    registry = Registry([gate])
    pools = [await create_pool(db_dsn, min_size=1, max_size=4) for _ in range(2)]
    try:
        stores = [JobStore(p) for p in pools]
        await stores[0].create_many("gate", [{} for _ in range(8)])
        lanes = [lane(s, registry, workers=4, limits=ConcurrencyLimits(limits_of([gate])))
                 for s in stores]
        async with running(*lanes[0]) as stop_a, running(*lanes[1]) as stop_b:
            await until(lambda: gate.running == 2)
            await asyncio.sleep(0.3)  # both runners poll again meanwhile (CAPPED_POLL_SECONDS)
            assert gate.running == 2 and gate.most == 2
            gate.open.set()
            await until(lambda: gate.started == 8, timeout=20)
            stop_a.set()
            stop_b.set()
        done = await pools[0].fetchval("SELECT count(*) FROM jobs WHERE status = 'completed'")
    finally:
        for p in pools:
            await p.close()
    assert done == 8 and gate.most == 2
