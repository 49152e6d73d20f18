"""Pure rules: retry timing, the bounded queue, the restart policy, named SQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from supervisor.lanes.queue import JobQueue
from supervisor.runtime.supervise import RestartPolicy, ServiceFailed, supervise
from supervisor.runtime.waiting import Backoff
from supervisor.states import Status, after_failure, retry_delay
from supervisor.store.jobs import Claimed
from supervisor.store.sql import parse_queries, queries

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_retry_count_is_the_number_of_retries() -> None:
    assert after_failure(0, 0, 30, NOW, "fixed") == (Status.DEAD, None)
    assert after_failure(0, 2, 30, NOW, "fixed") == (Status.FAILED, NOW + timedelta(seconds=30))
    assert after_failure(1, 2, 30, NOW, "fixed")[0] == Status.FAILED
    assert after_failure(2, 2, 30, NOW, "fixed") == (Status.DEAD, None)


def test_exponential_backoff_doubles() -> None:
    waits = [retry_delay(10, a, "exponential", jitter=0).seconds for a in (1, 2, 3, 4)]
    assert waits == [10, 20, 40, 80]
    assert retry_delay(10, 4, "fixed").seconds == 10


def _job(i: int) -> Claimed:
    return Claimed(i, uuid4(), "noop", {}, 1, 0, 0, 30, NOW, "first_time")


async def test_queue_never_overflows_and_refills_below_half() -> None:
    q = JobQueue(4)
    q.put_many([_job(i) for i in range(4)])
    assert q.free() == 0 and not q.room.is_set()
    with pytest.raises(OverflowError):
        q.put_many([_job(9)])
    await q.get()
    assert not q.room.is_set()  # 3 left: above half
    await q.get()
    assert q.room.is_set()  # 2 left: half, refill
    assert [j.id for j in q.close()] == [2, 3]
    assert await q.get() is None


async def test_restart_policy_gives_up_past_the_limit() -> None:
    policy = RestartPolicy(limit=2, window=60)
    assert policy.allow(0) and policy.allow(1)
    assert not policy.allow(2)
    assert RestartPolicy(limit=1, window=10).allow(0)


async def test_supervise_restarts_then_fails_the_process() -> None:
    runs = 0

    async def crashing(stopping: asyncio.Event, *, task_status: object) -> None:
        nonlocal runs
        runs += 1
        task_status.started()  # type: ignore[attr-defined]
        raise RuntimeError("boom")

    with pytest.raises(ServiceFailed, match="crashed 3 times"):
        await supervise("x", crashing, asyncio.Event(), RestartPolicy(limit=2, window=60),
                        backoff=Backoff(first=0.001))
    assert runs == 3


async def test_a_service_failing_before_it_started_fails_the_start() -> None:
    async def broken(stopping: asyncio.Event, *, task_status: object) -> None:
        raise ValueError("cannot start")

    with pytest.raises(ValueError, match="cannot start"):
        await supervise("x", broken, asyncio.Event(), RestartPolicy())


def test_named_queries_parse_and_are_unique() -> None:
    assert parse_queries("-- name: a\nSELECT 1;\n-- name: b\nSELECT 2;") == {
        "a": "SELECT 1;", "b": "SELECT 2;"}
    with pytest.raises(ValueError, match="twice"):
        parse_queries("-- name: a\nSELECT 1;\n-- name: a\nSELECT 2;")
    assert {"claim_open", "claim_retry", "finish_jobs", "rescue_orphans"} <= set(queries())


def test_a_fragment_is_written_once_and_included_where_named() -> None:
    text = ("-- fragment: cols\n-- the columns\nj.id,\nj.uuid\n\n"
            "-- name: a\nSELECT\n    -- include: cols\nFROM jobs j;\n"
            "-- name: b\nSELECT 2;")
    assert parse_queries(text) == {
        "a": "SELECT\n    -- the columns\n    j.id,\n    j.uuid\nFROM jobs j;", "b": "SELECT 2;"}
    with pytest.raises(ValueError, match="includes 'cols', which is no fragment"):
        parse_queries("-- name: a\nSELECT\n-- include: cols\n")
    with pytest.raises(ValueError, match="fragment 'x' is defined twice"):
        parse_queries("-- fragment: x\n1\n-- fragment: x\n2\n")
    with pytest.raises(ValueError, match="fragment 'x' includes another"):
        parse_queries("-- fragment: y\n1\n-- fragment: x\n-- include: y\n")
    # the runtime's claims share one column list: what Claimed reads
    claims = ["claim_open", "claim_retry", "claim_open_capped", "claim_retry_capped"]
    returned = {queries()[c].split("RETURNING")[-1].split("\n)\n")[0] for c in claims}
    assert len(returned) == 1 and "AS suspect" in returned.pop()
    assert all("include:" not in sql for sql in queries().values())
