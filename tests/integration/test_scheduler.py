"""The scheduler on a real PostgreSQL: once per occurrence across schedulers, misfires, overlap,
DST, bad rows. Time is simulated: every scheduler reads an injected clock."""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from supervisor.schedule.rules import compile_cron
from supervisor.schedule.scheduler import TickReport
from supervisor.store.db import create_pool
from tests.integration.schedule_support import (
    SimClock,
    add,
    finish_runs,
    fired,
    row,
    scheduler,
    service,
)

T0 = datetime(2025, 6, 2, 9, 0, 0, tzinfo=UTC)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def test_three_schedulers_fire_each_occurrence_exactly_once(
    pool: asyncpg.Pool, db_dsn: str, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, "supervisor")  # every tick's log line is built
    clock = SimClock(T0 + timedelta(seconds=7))
    svc = service(pool, clock)
    crons = {"each-minute": ("* * * * *", "UTC"), "five": ("*/5 * * * *", "Europe/Warsaw"),
             "odd": ("7,13,29,58 * * * *", "America/New_York"),
             "kolkata": ("*/10 9-23 * * *", "Asia/Kolkata"), "hourly": ("0 * * * *", "UTC")}
    for name, (cron, tz) in crons.items():
        await add(svc, name, cron, timezone=tz, overlap=True)
    pools = [await create_pool(db_dsn, min_size=1, max_size=2) for _ in range(3)]
    try:
        # A small batch makes the three contend for rows batch after batch.
        schedulers = [scheduler(p, clock, batch=2) for p in pools]
        rng = random.Random(3)
        reports: list[TickReport] = []
        end = T0 + timedelta(hours=1, seconds=7)
        while clock.now < end:
            clock.set(min(end, clock.now + timedelta(seconds=rng.randint(1, 40))))
            reports += await asyncio.gather(*(s.tick_once() for s in schedulers))
    finally:
        for p in pools:
            await p.close()
    total = 0
    for name, (cron, tz) in crons.items():
        expected = compile_cron(cron, tz).fires_between(T0 + timedelta(seconds=7), end, 1000)
        assert await fired(pool, name) == expected, name
        total += len(expected)
    assert sum(r.fired for r in reports) == total
    assert sum(r.conflicts for r in reports) == 0  # the locks, not the unique key, kept it once
    assert sum(r.due for r in reports) == total
    ticks = [r for r in caplog.records if getattr(r, "action", None) == "scheduler_tick"]
    assert sum(r.__dict__["fired"] for r in ticks) == total


async def _fire_then_stop(pool: asyncpg.Pool, clock: SimClock, policy: str) -> None:
    svc = service(pool, clock)
    await add(svc, "job", "*/5 * * * *", misfire_policy=policy, misfire_limit=3, overlap=True)
    clock.set(T0 + timedelta(minutes=5, seconds=2))
    report = await scheduler(pool, clock).tick_once()
    assert report.fired == 1


@pytest.mark.parametrize(("policy", "runs", "coalesced", "missed"), [
    ("coalesce", ["10:00"], 10, 0),
    ("fire_all", ["09:50", "09:55", "10:00"], 0, 8),
    ("skip", [], 0, 11),
])
async def test_restart_after_downtime_follows_the_misfire_policy(
    pool: asyncpg.Pool, db_dsn: str, policy: str, runs: list[str], coalesced: int, missed: int,
) -> None:
    clock = SimClock(T0)
    await _fire_then_stop(pool, clock, policy)
    # Down from 09:05 to 10:02: 09:10 ... 10:00 (11 occurrences) are all over a tick late.
    clock.set(T0 + timedelta(hours=1, minutes=2))
    restarted = await create_pool(db_dsn, min_size=1, max_size=2)
    try:
        report = await scheduler(restarted, clock).tick_once()
    finally:
        await restarted.close()
    got = await fired(pool, "job")
    assert got == [T0 + timedelta(minutes=5)] + [_utc(f"2025-06-02T{t}") for t in runs]
    assert (report.fired, report.coalesced, report.missed) == (len(runs), coalesced, missed)
    r = await row(pool, "job")
    assert r["next_run_at"] == T0 + timedelta(hours=1, minutes=5)
    assert (r["coalesced_count"], r["missed_count"]) == (coalesced, missed)
    if coalesced:
        assert await pool.fetchval("SELECT coalesced FROM jobs ORDER BY id DESC LIMIT 1") == 10
    kinds = {e["kind"] for e in await service(pool, clock).events("job")}
    assert kinds == ({"coalesced"} if coalesced else set()) | ({"missed"} if missed else set())


@pytest.mark.parametrize("policy", ["coalesce", "fire_all", "skip"])
async def test_an_occurrence_within_one_tick_is_on_time_for_every_policy(
    pool: asyncpg.Pool, policy: str,
) -> None:
    clock = SimClock(T0)
    await _fire_then_stop(pool, clock, policy)
    # Back at 10:00:40: 10:00 is 40 s late, within the 60 s tick, so it fires as usual.
    clock.set(T0 + timedelta(hours=1, seconds=40))
    await scheduler(pool, clock).tick_once()
    got = await fired(pool, "job")
    assert got[-1] == T0 + timedelta(hours=1)
    assert len(got) == {"coalesce": 2, "fire_all": 5, "skip": 2}[policy]


async def test_without_overlap_an_unfinished_run_blocks_the_next_and_the_skip_is_recorded(
    pool: asyncpg.Pool,
) -> None:
    clock = SimClock(T0)
    svc = service(pool, clock)
    await add(svc, "solo", "* * * * *")
    await add(svc, "crowd", "* * * * *", overlap=True)
    tick = scheduler(pool, clock)
    for minute, status in [(1, None), (2, "processing"), (3, "failed"), (4, "completed"),
                           (5, "dead")]:
        if status:
            await finish_runs(pool, "solo", status)
        clock.set(T0 + timedelta(minutes=minute, seconds=1))
        await tick.tick_once()
    solo = [t.minute for t in await fired(pool, "solo")]
    # processing and failed-awaiting-retry are unfinished: 09:02 and 09:03 are skipped.
    assert solo == [1, 4, 5]
    assert len(await fired(pool, "crowd")) == 5
    r = await row(pool, "solo")
    assert r["skipped_overlaps"] == 2
    assert r["next_run_at"] == T0 + timedelta(minutes=6)
    skips = [e for e in await svc.events("solo") if e["kind"] == "skipped_overlap"]
    assert [e["scheduled_for"] for e in skips] == [
        (T0 + timedelta(minutes=m)).isoformat() for m in (3, 2)]


async def test_fire_all_without_overlap_creates_one_run_and_skips_the_rest(
    pool: asyncpg.Pool,
) -> None:
    clock = SimClock(T0)
    await add(service(pool, clock), "reports", "*/5 * * * *", misfire_policy="fire_all")
    clock.set(T0 + timedelta(minutes=30, seconds=5))
    report = await scheduler(pool, clock).tick_once()
    assert await fired(pool, "reports") == [T0 + timedelta(minutes=5)]
    assert (report.fired, report.skipped_overlap) == (1, 5)


async def _walk(pool: asyncpg.Pool, clock: SimClock, until: datetime) -> None:
    """Tick every five simulated minutes until `until`."""
    tick = scheduler(pool, clock, poll_seconds=300)
    while clock.now < until:
        clock.advance(minutes=5)
        await tick.tick_once()


@pytest.mark.parametrize(("day", "daily", "half_hourly"), [
    # Spring forward, 2025-03-30 02:00 CET -> 03:00 CEST (01:00 UTC): local 02:30 does not
    # exist, the daily run comes at 03:00 CEST; */30 keeps a 30-minute real rhythm.
    ("2025-03-30", ["2025-03-29T01:30", "2025-03-30T01:00", "2025-03-31T00:30"],
     ["00:00", "00:30", "01:00", "01:30", "02:00"]),
    # Fall back, 2025-10-26 03:00 CEST -> 02:00 CET (01:00 UTC): local 02:30 happens twice,
    # the daily run fires once at the first; */30 fires in both passes of the hour.
    ("2025-10-26", ["2025-10-25T00:30", "2025-10-26T00:30", "2025-10-27T01:30"],
     ["00:00", "00:30", "01:00", "01:30", "02:00"]),
])
async def test_warsaw_dst_transitions_end_to_end(
    pool: asyncpg.Pool, day: str, daily: list[str], half_hourly: list[str],
) -> None:
    start = _utc(f"{day}T00:00") - timedelta(days=1, hours=2)
    clock = SimClock(start)
    svc = service(pool, clock)
    await add(svc, "daily", "30 2 * * *", timezone="Europe/Warsaw", overlap=True)
    await add(svc, "half", "*/30 * * * *", timezone="Europe/Warsaw", overlap=True)
    await _walk(pool, clock, start + timedelta(days=3))
    assert await fired(pool, "daily") == [_utc(t) for t in daily]
    window = (_utc(f"{day}T00:00"), _utc(f"{day}T02:00"))
    half = [t for t in await fired(pool, "half") if window[0] <= t <= window[1]]
    assert [t.strftime("%H:%M") for t in half] == half_hourly
    lateness = await pool.fetch("SELECT lateness_ms FROM jobs WHERE lateness_ms > 300000")
    assert lateness == []  # every run reached within one 5-minute tick


async def test_a_broken_schedule_is_reported_and_does_not_stop_the_others(
    pool: asyncpg.Pool,
) -> None:
    clock = SimClock(T0)
    svc = service(pool, clock)
    for name in ("bad-cron", "bad-zone", "good", "gone-type"):
        await add(svc, name, "* * * * *")
    await pool.execute("UPDATE scheduled_jobs SET cron = '61 * * * *' WHERE name = 'bad-cron'")
    await pool.execute("UPDATE scheduled_jobs SET timezone = 'Mars/Base' WHERE name = 'bad-zone'")
    # A job type this process does not know still fires: its worker records the error.
    await pool.execute("UPDATE scheduled_jobs SET job_type = 'gone' WHERE name = 'gone-type'")
    clock.set(T0 + timedelta(minutes=1, seconds=1))
    report = await scheduler(pool, clock, batch=1).tick_once()
    assert (report.fired, report.broken) == (2, 2)
    assert await fired(pool, "good") == [T0 + timedelta(minutes=1)]
    assert len(await fired(pool, "gone-type")) == 1
    errors = {name: (await row(pool, name))["last_error"] for name in ("bad-cron", "bad-zone")}
    assert "minute" in errors["bad-cron"]
    assert "Mars/Base" in errors["bad-zone"]
    assert (await row(pool, "bad-cron"))["next_run_at"] > clock.now + timedelta(minutes=59)
    assert [e["kind"] for e in await svc.events("bad-cron")] == ["error"]
    # Fixing it clears the error and schedules it from now.
    from supervisor.schedule.service import SchedulePatch

    fixed = await svc.update("bad-cron", SchedulePatch(cron="*/2 * * * *"))
    assert fixed["last_error"] is None
    assert fixed["next_run_at"] == (T0 + timedelta(minutes=2)).isoformat()
