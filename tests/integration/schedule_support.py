"""Helpers for scheduler tests: a simulated clock, a service, and readers of what fired."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import asyncpg

from services import diagnostic
from supervisor.jobtypes import Registry
from supervisor.schedule.scheduler import Scheduler
from supervisor.schedule.service import ScheduleService, ScheduleSpec


class SimClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        """Move forward and return the new time."""
        self.now += timedelta(**delta)
        return self.now

    def set(self, when: datetime) -> datetime:
        """Jump to `when` (forward only)."""
        assert when >= self.now
        self.now = when
        return when


def registry() -> Registry:
    """The shipped diagnostic job types."""
    return Registry(diagnostic.JOB_TYPES)


def service(pool: asyncpg.Pool, clock: SimClock) -> ScheduleService:
    """A schedule service on the simulated clock."""
    return ScheduleService(pool, registry(), clock=clock)


def scheduler(pool: asyncpg.Pool, clock: SimClock, **kw: Any) -> Scheduler:
    """A scheduler on the simulated clock (60 s ticks unless told)."""
    return Scheduler(pool, registry(), clock=clock, **{"poll_seconds": 60.0, **kw})


async def add(svc: ScheduleService, name: str, cron: str, **kw: Any) -> dict[str, Any]:
    """Create a noop schedule."""
    return await svc.create(ScheduleSpec(name=name, cron=cron, job_type="noop", **kw))


async def fired(pool: asyncpg.Pool, name: str) -> list[datetime]:
    """scheduled_for of every run of a schedule, oldest first."""
    rows = await pool.fetch(
        "SELECT j.scheduled_for FROM jobs j JOIN scheduled_jobs s ON s.id = j.schedule_id "
        "WHERE s.name = $1 ORDER BY j.scheduled_for", name)
    return [r["scheduled_for"] for r in rows]


async def row(pool: asyncpg.Pool, name: str) -> asyncpg.Record:
    """The schedule row."""
    found = await pool.fetchrow("SELECT * FROM scheduled_jobs WHERE name = $1", name)
    assert found is not None
    return found


async def finish_runs(pool: asyncpg.Pool, name: str, status: str = "completed") -> None:
    """Pretend a worker ended every run of a schedule."""
    await pool.execute(
        "UPDATE jobs SET status = $2, finished_at = now() WHERE schedule_id = "
        "(SELECT id FROM scheduled_jobs WHERE name = $1)", name, status)
