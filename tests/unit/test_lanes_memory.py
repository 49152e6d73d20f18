"""StatusWriter, WorkerPool, Runner and Lane on the in-memory store: milliseconds each."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import uuid4

import anyio
import pytest

from supervisor.jobtypes import JobDefaults, Registry
from supervisor.lanes.limits import ConcurrencyLimits, TypeLimit, limits_of
from supervisor.lanes.pool import WorkerPool
from supervisor.lanes.queue import JobQueue
from supervisor.lanes.runner import Runner
from supervisor.lanes.writer import StatusWriter
from supervisor.store.jobs import Finish, Started
from supervisor.store.memory import MemoryJobStore
from tests.unit.lane_support import Gate, Quick, lane, running, until


async def _run_lane(store: MemoryJobStore, registry: Registry, done: object, **kw: object) -> None:
    the_lane, writer = lane(store, registry, **kw)  # type: ignore[arg-type]
    async with running(the_lane, writer) as stopping:
        await until(done)  # type: ignore[arg-type]
        stopping.set()


async def test_a_lane_runs_every_job_and_records_failures() -> None:
    store = MemoryJobStore()
    for i in range(30):
        store.add("quick", {"fail": True} if i % 10 == 0 else {}, retry_count=1, retry_interval=60)
    await _run_lane(store, Registry([Quick()]),
                    lambda: "open" not in store.statuses() and "in_queue" not in store.statuses()
                    and "processing" not in store.statuses())
    assert store.statuses().count("completed") == 27
    failed = [j for j in store.jobs.values() if j.status == "failed"]
    assert len(failed) == 3
    assert failed[0].job_response["runtime_errors"] == ["attempt 1: ValueError: asked to fail"]


async def test_the_fortieth_attempt_of_an_exponential_retry_is_written_not_crashed() -> None:
    store = MemoryJobStore()
    job = store.add("quick", {"fail": True}, retry_count=100, retry_interval=30, attempts=39,
                    status="failed", run_after=datetime(2020, 1, 1, tzinfo=UTC))
    await _run_lane(store, Registry([Quick()]), lambda: job.attempts == 40, name="retry",
                    backoff="exponential")
    assert job.status == "failed" and job.run_after is not None
    wait = (job.run_after - datetime.now(UTC)).total_seconds()
    assert 3600 * 0.9 - 5 <= wait <= 3600


async def test_stopping_hands_back_queued_and_running_jobs_without_an_attempt() -> None:
    store = MemoryJobStore()
    gate = Gate()
    for _ in range(8):
        store.add("gate")
    the_lane, writer = lane(store, Registry([gate]), workers=2, queue_size=4, grace=0.01)
    async with running(the_lane, writer) as stopping:
        await until(lambda: gate.running == 2)
        stopping.set()
    assert set(store.statuses()) == {"open"}
    assert all(j.attempts == 0 and j.node_id is None for j in store.jobs.values())


async def test_runner_never_holds_more_than_the_queue() -> None:
    store = MemoryJobStore()
    for _ in range(50):
        store.add("quick")
    queue = JobQueue(10)
    runner = Runner("first_time", store, queue, uuid4(), batch=100, poll_seconds=1,
                    wake=asyncio.Event())
    assert await runner.claim_once() == (10, 10)
    assert await runner.claim_once() == (0, 0)
    assert len(queue) == 10 and store.statuses().count("in_queue") == 10


async def test_runner_waits_out_a_database_blip() -> None:
    store = MemoryJobStore()
    store.add("quick")
    store.fail_next = [ConnectionError("gone")]
    queue = JobQueue(10)
    stopping = asyncio.Event()
    runner = Runner("first_time", store, queue, uuid4(), batch=100, poll_seconds=0.05,
                    wake=asyncio.Event())
    async with anyio.create_task_group() as tg:
        await tg.start(runner.run, stopping)
        with anyio.fail_after(5):
            while len(queue) == 0:
                await asyncio.sleep(0.01)
        stopping.set()
    assert store.claims == 2


async def test_writer_fences_a_result_whose_job_was_taken_over() -> None:
    store = MemoryJobStore()
    job = store.add("quick")
    [claimed] = await store.claim("first_time", uuid4(), 1)
    store.cancel(job.uuid)  # bumps the token
    writer = StatusWriter(store)
    now = datetime.now(UTC)
    writer.finished(Finish(claimed.id, claimed.token, "completed", now, now, None, {}, None))
    await writer.flush()
    assert job.status == "cancelled" and writer.finished_total == 0


async def test_writer_keeps_a_batch_that_failed_and_writes_it_later() -> None:
    store = MemoryJobStore()
    store.add("quick")
    [claimed] = await store.claim("first_time", uuid4(), 1)
    writer = StatusWriter(store)
    ours = writer.started(Started(claimed.id, claimed.token, datetime.now(UTC)))
    store.fail_next = [ConnectionError("gone")]
    with pytest.raises(ConnectionError):
        await writer.flush_started()
    assert writer.pending() == 1 and not ours.done()
    await writer.flush_started()
    assert store.statuses() == ["processing"] and writer.pending() == 0
    assert ours.result() is True


async def test_worker_pool_interrupt_releases_running_jobs() -> None:
    store = MemoryJobStore()
    gate = Gate()
    store.add("gate")
    queue = JobQueue(4)
    queue.put_many(await store.claim("first_time", uuid4(), 4))
    writer = StatusWriter(store)
    pool = WorkerPool("first_time", queue, 2, registry=Registry([gate]), store=store,
                      writer=writer, backoff="fixed")
    stopping = asyncio.Event()
    async with anyio.create_task_group() as tg:
        await tg.start(writer.run, stopping)  # a worker starts a job once its mark is written
        await tg.start(pool.run)
        await until(lambda: gate.running == 1)
        assert pool.interrupt_all() == 1
        queue.close()
        stopping.set()
    await writer.flush(everything=True)
    assert store.statuses() == ["open"]


async def test_per_process_limit_holds_at_most_n_jobs_of_a_type() -> None:
    store = MemoryJobStore()
    gate, quick = Gate("gate", JobDefaults(concurrency=2)), Quick()
    for i in range(12):
        store.add("gate" if i % 2 else "quick")
    limits = ConcurrencyLimits(limits_of([gate, quick]))
    the_lane, writer = lane(store, Registry([gate, quick]), workers=6, limits=limits)
    async with running(the_lane, writer) as stopping:
        await until(lambda: store.statuses().count("completed") == 6 and gate.running == 2)
        # The gated type is at its limit: the other 4 gate jobs stay open, not queued.
        assert sum(1 for j in store.jobs.values()
                   if j.job_type == "gate" and j.status == "open") == 4
        gate.open.set()
        await until(lambda: store.statuses().count("completed") == 12)
        stopping.set()
    assert gate.most == 2 and limits.held["gate"] == 0


async def test_global_limit_counts_what_every_process_holds() -> None:
    store = MemoryJobStore()
    for _ in range(10):
        store.add("gate")
    limits = ConcurrencyLimits({"gate": TypeLimit(global_=3)})
    other_node = await store.claim("first_time", uuid4(), 2, limits.caps(2))
    assert len(other_node) == 2
    ours = await store.claim("first_time", uuid4(), 10, limits.caps(10))
    assert len(ours) == 1  # 3 in all, 2 held elsewhere


def test_no_limits_means_the_plain_claim() -> None:
    limits = ConcurrencyLimits(limits_of([Quick(), Gate()]))
    assert not limits and limits.caps(100) == []
