"""The store's invariants on a real PostgreSQL: claiming, fencing, release and rescue."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import asyncpg

from supervisor.store.db import create_pool, lane_pools
from supervisor.store.jobs import Finish, JobStore, Started
from supervisor.store.nodes import NodeStore
from supervisor.store.sql import q


async def test_concurrent_claims_never_share_a_job(store: JobStore, db_dsn: str) -> None:
    await store.create_many("noop", [{"i": i} for i in range(1000)])
    pools = [await asyncpg.create_pool(db_dsn, min_size=1, max_size=2) for _ in range(4)]
    try:
        claimers = [JobStore(p) for p in pools]

        async def drain(s: JobStore) -> list[int]:
            got: list[int] = []
            while batch := await s.claim("first_time", uuid4(), 37):
                got.extend(j.id for j in batch)
            return got

        results = await asyncio.gather(*(drain(s) for s in claimers))
    finally:
        for p in pools:
            await p.close()
    every = [i for r in results for i in r]
    assert len(every) == 1000
    assert len(set(every)) == 1000


async def test_claim_bumps_token_and_marks_in_queue(store: JobStore) -> None:
    job = await store.create("noop", {})
    node = uuid4()
    [claimed] = await store.claim("first_time", node, 10)
    assert claimed.uuid == job["uuid"]
    assert claimed.token == job["token"] + 1
    row = await store.get(job["uuid"])
    assert row is not None and row["status"] == "in_queue" and row["node_id"] == node


async def test_stale_token_cannot_overwrite_a_rescued_job(
    store: JobStore, pool: asyncpg.Pool
) -> None:
    job = await store.create("noop", {})
    dead, alive = uuid4(), uuid4()
    nodes = NodeStore(pool)
    await nodes.register(dead, "h", 1, ["first_time"])
    await nodes.register(alive, "h", 2, ["first_time"])
    [old] = await store.claim("first_time", dead, 1)
    now = datetime.now(UTC)
    await store.mark_started([Started(old.id, old.token, now)])
    await pool.execute("UPDATE nodes SET heartbeat_at = now() - interval '1 hour' WHERE id = $1",
                       dead)
    rescued = await nodes.rescue(30, 3)
    assert [(r["uuid"], r["status"]) for r in rescued] == [(job["uuid"], "open")]
    [new] = await store.claim("first_time", alive, 1)
    assert new.token > old.token
    late = Finish(old.id, old.token, "completed", now, now, None, {"messages": "old"}, None)
    applied, fenced = await store.write_batch([late], [])
    assert (applied, fenced) == (0, {old.id})
    fresh = Finish(new.id, new.token, "completed", now, now, None, {"messages": "new"}, None)
    assert await store.write_batch([fresh], []) == (1, set())
    row = await store.get(job["uuid"])
    assert row is not None
    assert row["status"] == "completed" and row["job_response"]["messages"] == "new"


async def test_release_returns_jobs_without_using_an_attempt(store: JobStore) -> None:
    first = await store.create("noop", {})
    node = uuid4()
    [claimed] = await store.claim("first_time", node, 1)
    await store.mark_started([Started(claimed.id, claimed.token, datetime.now(UTC))])
    await store.write_batch([], [(claimed.id, claimed.token)])
    row = await store.get(first["uuid"])
    assert row is not None
    assert (row["status"], row["attempts"], row["node_id"]) == ("open", 0, None)


async def test_failed_run_records_error_and_retry_release_goes_back_to_failed(
    store: JobStore,
) -> None:
    job = await store.create("noop", {}, retry_count=2, retry_interval=0)
    [c] = await store.claim("first_time", uuid4(), 1)
    now = datetime.now(UTC)
    err = Finish(c.id, c.token, "failed", now, now, now, {}, "attempt 1: boom")
    await store.write_batch([err], [])
    [r] = await store.claim("retry", uuid4(), 1)
    assert r.attempts == 1
    await store.write_batch([], [(r.id, r.token)])
    row = await store.get(job["uuid"])
    assert row is not None
    assert row["status"] == "failed" and row["attempts"] == 1
    assert row["job_response"]["runtime_errors"] == ["attempt 1: boom"]


async def test_rescue_counts_lost_runs_and_kills_a_poison_pill(
    store: JobStore, pool: asyncpg.Pool
) -> None:
    job = await store.create("noop", {})
    nodes = NodeStore(pool)
    for attempt in range(3):
        node = uuid4()
        await nodes.register(node, "h", 1, ["first_time"])
        [c] = await store.claim("first_time", node, 1)
        await store.mark_started([Started(c.id, c.token, datetime.now(UTC))])
        await nodes.stop(node)  # a stopped node holds nothing: its jobs are orphans at once
        [moved] = await nodes.rescue(30, 3)
        assert moved["was_running"]
        assert moved["status"] == ("dead" if attempt == 2 else "open")
    row = await store.get(job["uuid"])
    assert row is not None
    assert row["rescues"] == 3 and len(row["job_response"]["runtime_errors"]) == 3


async def test_rescue_leaves_jobs_of_live_nodes_alone(store: JobStore, pool: asyncpg.Pool) -> None:
    await store.create("noop", {})
    node = uuid4()
    nodes = NodeStore(pool)
    await nodes.register(node, "h", 1, ["first_time"])
    await store.claim("first_time", node, 1)
    assert await nodes.rescue(30, 3) == []


async def test_cancel_fences_the_runner_and_retry_now_reopens(store: JobStore) -> None:
    job = await store.create("noop", {})
    [c] = await store.claim("first_time", uuid4(), 1)
    cancelled = await store.cancel(job["uuid"])
    assert cancelled is not None and cancelled["status"] == "cancelled"
    now = datetime.now(UTC)
    done = Finish(c.id, c.token, "completed", now, now, None, {}, None)
    assert await store.write_batch([done], []) == (0, {c.id})
    assert await store.cancel(job["uuid"]) is None
    reopened = await store.retry_now(job["uuid"])
    assert reopened is not None and reopened["status"] == "open"


async def test_list_filters_and_pages(store: JobStore) -> None:
    for i in range(5):
        await store.create("noop" if i % 2 else "sleep", {"i": i})
    page = await store.list(limit=2)
    assert [r["data"]["i"] for r in page] == [4, 3]
    nxt = await store.list(limit=2, before_id=page[-1]["id"])
    assert [r["data"]["i"] for r in nxt] == [2, 1]
    sleeps = await store.list(job_type="sleep", statuses=["open"])
    assert [r["data"]["i"] for r in sleeps] == [4, 2, 0]


async def test_a_manual_retry_renews_retries_and_keeps_the_run_count(store: JobStore) -> None:
    from supervisor.store.bulk import JobFilter, retry_matching

    one = await store.create("noop", {})
    many = await store.create("noop", {})
    await store.pool.execute(
        "UPDATE jobs SET status = 'dead', attempts = 3, started_at = now(), finished_at = now(), "
        "updated_at = now() - interval '1 minute'")
    by_uuid = await store.retry_now(one["uuid"])
    assert await retry_matching(store, JobFilter(statuses=["dead"])) == 1
    for row in (by_uuid, await store.get(many["uuid"])):
        assert row is not None and row["status"] == "open"
        assert (row["attempts"], row["retried_attempts"]) == (3, 3)
        assert row["started_at"] is None and row["finished_at"] is None
    [claimed, _] = await store.claim("first_time", uuid4(), 2)
    assert (claimed.attempts, claimed.retried_attempts) == (3, 3)


async def test_pools_without_session_reset_still_end_open_transactions(db_dsn: str) -> None:
    for reset in (True, False):
        pool = await create_pool(db_dsn, min_size=1, max_size=1, reset_session=reset)
        try:
            async with pool.acquire() as conn:
                await conn.execute("SET application_name = 'left behind'")
                await conn.execute("BEGIN")  # never committed: the release must roll it back
                await conn.execute("CREATE TABLE half_done (id int)")
            async with pool.acquire() as conn:
                assert not conn.is_in_transaction()
                assert await conn.fetchval("SELECT to_regclass('half_done')") is None
                name = await conn.fetchval("SHOW application_name")
                # Job pools reset what a handler set; the control plane's pools skip that round
                # trip because their own statements set nothing.
                assert (name == "left behind") is (not reset)
        finally:
            await pool.close()


async def test_batch_writes_find_their_jobs_by_key_whatever_the_statistics(
        store: JobStore, pool: asyncpg.Pool) -> None:
    # ANALYZE usually runs when no job is in flight, so the planner believes the owned jobs are
    # almost none. A generic plan (asyncpg prepares every statement; PostgreSQL switches to a
    # generic plan after five runs, the claim pool at once) that trusted that scanned every
    # owned job and, for each, the whole batch: batch x in-flight rows per write.
    await store.create_many("noop", [{} for _ in range(20_000)])
    await pool.execute("ANALYZE jobs")
    claimed = await store.claim("first_time", uuid4(), 400)
    now = datetime.now(UTC)
    batch, rest = claimed[:200], claimed[200:]
    n = len(batch)
    writes = {
        "mark_started": ([j.id for j in batch], [j.token for j in batch], [now] * n),
        "finish_jobs": ([j.id for j in batch], [j.token for j in batch], ["completed"] * n,
                        [now] * n, [now] * n, [None] * n, [None] * n, [None] * n, [None] * n),
        "release_jobs": ([j.id for j in rest], [j.token for j in rest]),
    }
    async with pool.acquire() as conn:
        for name, args in writes.items():
            plan = await _generic_plan(conn, name, args)
            assert _discarded_rows(plan) < 2 * n, (name, _discarded_rows(plan), plan)


async def test_claims_take_their_rows_by_key_under_a_generic_plan(
        store: JobStore, pool: asyncpg.Pool) -> None:
    # A generic plan guesses LIMIT $2 at a tenth of the table: joined back to jobs, the picked
    # rows were hashed against a scan of every job, on every claim of the claim pool.
    await store.create_many("noop", [{} for _ in range(20_000)])
    await pool.execute("UPDATE jobs SET status = 'failed', run_after = now() - interval '1 s', "
                       "attempts = 1 WHERE id % 2 = 0")
    await pool.execute("ANALYZE jobs")
    node = uuid4()
    caps = (["segmentation"], [1], [None])
    claims = {"claim_open": (node, 100), "claim_retry": (node, 100),
              "claim_open_capped": (node, 100, *caps), "claim_retry_capped": (node, 100, *caps)}
    async with pool.acquire() as conn:
        for name, args in claims.items():
            plan = await _generic_plan(conn, name, args)
            assert "Seq Scan" not in json.dumps(plan), (name, plan)
            assert plan["Actual Rows"] == 100, (name, plan)


async def _generic_plan(conn: asyncpg.Connection, name: str, args: tuple[Any, ...],
                        ) -> dict[str, Any]:
    """EXPLAIN ANALYZE of a named query's generic plan with these arguments, rolled back."""
    await conn.execute("SET plan_cache_mode = force_generic_plan")
    await conn.execute(f"PREPARE {name} AS {q(name)}")
    try:
        types = await conn.fetchval("SELECT parameter_types::text[] FROM "
                                    "pg_prepared_statements WHERE name = $1", name)
        # EXPLAIN EXECUTE takes no bind parameters: the arguments go in as literals.
        literals = [await conn.fetchval(f"SELECT quote_nullable($1::{t}::text)", a) + f"::{t}"
                    for t, a in zip(types, args, strict=True)]
        undo = conn.transaction()  # EXPLAIN ANALYZE runs the write
        await undo.start()
        try:
            plan = await conn.fetchval(
                f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE {name}({', '.join(literals)})")
        finally:
            await undo.rollback()
    finally:
        await conn.execute(f"DEALLOCATE {name}")
        await conn.execute("RESET plan_cache_mode")
    return plan[0]["Plan"]  # type: ignore[no-any-return]


def _discarded_rows(node: dict[str, Any]) -> int:
    """Rows a plan read and threw away (filters and join filters), over all its nodes."""
    own = int(node.get("Rows Removed by Filter", 0)) + int(
        node.get("Rows Removed by Join Filter", 0))
    loops = int(node.get("Actual Loops", 1))
    return own * loops + sum(_discarded_rows(c) for c in node.get("Plans", []))


async def test_the_lanes_pools_keep_to_keys_after_the_table_grows(db_dsn: str) -> None:
    # A connection caches its plans, often first on a nearly empty table, where a sequential
    # scan is cheapest, and keeps them until the next ANALYZE: after a burst of jobs each claim
    # and each status batch would read the whole table. The lanes' pools never scan it.
    claims, writes = await lane_pools(db_dsn)
    control = await create_pool(db_dsn, min_size=1, max_size=2)
    store = JobStore(control, claims, writes)
    node = uuid4()

    async def claim_and_finish(n: int) -> None:
        got = await store.claim("first_time", node, n)
        now = datetime.now(UTC)
        await store.write_batch(
            [Finish(j.id, j.token, "completed", now, now, None, {}, None) for j in got], [])

    async def jobs_seq_scans() -> int:
        await store.close()  # the held claim connection goes back to its pool, to be flushed
        for pool, size in ((claims, 3), (writes, 2)):
            conns = [await pool.acquire() for _ in range(size)]
            for conn in conns:  # each backend reports its scans at its next idle moment
                await conn.execute("SELECT pg_stat_force_next_flush()")
                await conn.execute("SELECT 1")
            for conn in conns:
                await pool.release(conn)
        return int(await control.fetchval(
            "SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'jobs'"))

    try:
        for _ in range(8):  # past the five custom plans after which a generic one is kept
            await store.create_many("noop", [{} for _ in range(20)])
            await claim_and_finish(20)
        await store.create_many("noop", [{} for _ in range(20_000)])
        before = await jobs_seq_scans()
        for _ in range(3):
            await claim_and_finish(100)
        assert await jobs_seq_scans() == before
    finally:
        await store.close()
        for pool in (claims, writes, control):
            await pool.close()
