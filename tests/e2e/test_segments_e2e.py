"""Segments with real daemons: triggers fire once per added segment across two daemons; a
delayed event fires once at its time, survives a kill -9 and restart, and can be cancelled."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from services.cdp.delayed import DelayedEvent, run_after
from services.cdp.segments.model import SegmentIn
from services.cdp.segments.store import SegmentStore
from services.cdp.segments.triggers import TriggerIn
from supervisor.store.jobs import JobStore
from tests.e2e.jobtypes import CREATE_TABLE
from tests.e2e.procs import DaemonProc
from tests.helpers import eventually, statuses

PROFILES = 300


@pytest.fixture
def procs() -> Iterator[list[DaemonProc]]:
    started: list[DaemonProc] = []
    yield started
    for p in started:
        p.kill()


def daemon(dsn: str, log: Path, **extra: str) -> DaemonProc:
    """Worker services with the e2e `record` job type and triggers on."""
    return DaemonProc(dsn, log, "--only", "rescue,first_time,retry",
                      SUPERVISOR_JOB_MODULES="tests.e2e.jobtypes", PARALLEL_JOBS="4",
                      NODE_STALE_SECONDS="2", ENABLE_SEGMENTATION_WF_TRIGGERS="yes",
                      POOL_SIZE="5", SAVE_AFTER_POOLS="2", **extra)


async def _profiles(pool: asyncpg.Pool, n: int) -> None:
    now = datetime.now(UTC)
    rows = [(f"p{i:04d}", json.dumps({"id": f"p{i:04d}", "traits": {"age": 20 + i % 50},
                                      "segments": [], "metadata": {"time": {}}}), now, now)
            for i in range(n)]
    await pool.executemany("INSERT INTO cdp_profiles (id, doc, insert_time, update_time) "
                           "VALUES ($1, $2::text::jsonb, $3, $4)", rows)


async def test_triggers_fire_once_per_added_segment_across_two_daemons(
        pool: asyncpg.Pool, db_dsn: str, store: JobStore, procs: list[DaemonProc],
        tmp_path: Path) -> None:
    await pool.execute(CREATE_TABLE)
    await _profiles(pool, PROFILES)
    segs = SegmentStore(pool)
    await segs.save(SegmentIn(name="Adult", condition="profile@traits.age >= 18"))
    await segs.save_trigger(TriggerIn.model_validate({
        "name": "welcome", "segment": {"id": "adult"},
        "action": {"type": "job", "job_type": "record", "data": {"seconds": 0}}}))
    await segs.save_trigger(TriggerIn.model_validate({
        "name": "second rule", "segment": {"id": "adult"},
        "action": {"type": "job", "job_type": "record", "data": {}}}))
    procs += [daemon(db_dsn, tmp_path / f"d{i}.log", JOB_IN_QUEUE_SIZE="1") for i in range(2)]

    async def both_up() -> bool:
        return await pool.fetchval("SELECT count(*) FROM nodes WHERE stopped_at IS NULL") == 2
    await eventually(both_up, 60, "two daemons up")
    # Four segmentation jobs at once: the two daemons race over the same profiles.
    await store.create_many("segmentation", [{} for _ in range(4)])

    async def settled() -> bool:
        counts = await statuses(pool)
        return counts.get("completed", 0) == 4 + 2 * PROFILES
    await eventually(settled, 90, "segmentation and trigger jobs completed")
    assert await pool.fetchval("SELECT count(*) FROM e2e_runs") == 2 * PROFILES
    assert await pool.fetchval("SELECT count(DISTINCT job) FROM e2e_runs") == 2 * PROFILES
    assert await pool.fetchval(
        "SELECT count(*) FROM cdp_segment_changes WHERE kind = 'segment-added'") == PROFILES
    ran_on = await pool.fetchval("SELECT count(DISTINCT node_id) FROM jobs")
    assert ran_on == 2, [p.tail() for p in procs]


def _task(seconds_ahead: float, kind: str) -> DelayedEvent:
    due = datetime.now(UTC) + timedelta(seconds=seconds_ahead)
    return DelayedEvent.model_validate({"timestamp": due.timestamp(), "event": {
        "type": kind, "properties": {"n": 1}, "source": {"id": "web"},
        "profile": {"id": "prof-1"}, "session": {"id": "sess-1"}}})


async def test_delayed_event_fires_once_after_a_restart_and_can_be_cancelled(
        pool: asyncpg.Pool, db_dsn: str, store: JobStore, procs: list[DaemonProc],
        tmp_path: Path) -> None:
    first = daemon(db_dsn, tmp_path / "a.log")
    procs.append(first)
    fire, cancel = _task(4, "reminder"), _task(4, "never-sent")
    for task in (fire, cancel):
        await store.create("delayed_event", task.model_dump(mode="json"), retry_count=3,
                           run_after=run_after(task))
    job = await pool.fetchval("SELECT uuid FROM jobs WHERE data #>> '{event,type}' = "
                              "'never-sent'")
    assert (await store.cancel(job)) is not None
    first.kill()  # kill -9 before it is due; the job waits in PostgreSQL
    procs.append(daemon(db_dsn, tmp_path / "b.log"))

    async def fired() -> bool:
        return bool(await pool.fetchval(
            "SELECT count(*) FROM jobs WHERE job_type = 'delayed_event' "
            "AND status = 'completed'"))
    await eventually(fired, 60, "the delayed event was collected")
    rows = await pool.fetch("SELECT type, insert_time FROM cdp_events WHERE profile_id = "
                            "'prof-1' AND type IN ('reminder', 'never-sent')")
    assert [r["type"] for r in rows] == ["reminder"]
    assert rows[0]["insert_time"] >= fire.due
    assert await pool.fetchval("SELECT status FROM jobs WHERE uuid = $1", job) == "cancelled"
