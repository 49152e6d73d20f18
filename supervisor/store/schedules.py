"""The schedule store: the only code that talks SQL to scheduled_jobs and schedule_events."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

from supervisor.store.sql import q

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    Conn: TypeAlias = asyncpg.Connection | PoolConnectionProxy[asyncpg.Record]
else:
    Conn = asyncpg.Connection

# The definition columns, in the order the insert, update and upsert statements take them.
FIELDS = ("cron", "timezone", "job_type", "data", "retry_count", "retry_interval", "active",
          "next_run_at", "misfire_policy", "misfire_limit", "overlap")


@dataclass
class FireBatch:
    """Everything one tick transaction writes, as columns for the unnest arrays."""

    run_schedule: list[int] = field(default_factory=list)
    run_for: list[datetime] = field(default_factory=list)
    run_coalesced: list[int] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    next_run_at: list[datetime] = field(default_factory=list)
    coalesced: list[int] = field(default_factory=list)
    missed: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    errors: list[str | None] = field(default_factory=list)
    event_schedule: list[int] = field(default_factory=list)
    event_kind: list[str] = field(default_factory=list)
    event_for: list[datetime | None] = field(default_factory=list)
    event_count: list[int] = field(default_factory=list)
    event_detail: list[str | None] = field(default_factory=list)

    def run(self, schedule_id: int, scheduled_for: datetime, coalesced: int = 0) -> None:
        """Add one run to insert."""
        self.run_schedule.append(schedule_id)
        self.run_for.append(scheduled_for)
        self.run_coalesced.append(coalesced)

    def advance(self, schedule_id: int, next_run_at: datetime, *, coalesced: int = 0,
                missed: int = 0, skipped: int = 0, error: str | None = None) -> None:
        """Move one schedule on and add to its counters."""
        self.ids.append(schedule_id)
        self.next_run_at.append(next_run_at)
        self.coalesced.append(coalesced)
        self.missed.append(missed)
        self.skipped.append(skipped)
        self.errors.append(error)

    def event(self, schedule_id: int, kind: str, scheduled_for: datetime | None, count: int,
              detail: str | None = None) -> None:
        """Record something besides a plain fire."""
        self.event_schedule.append(schedule_id)
        self.event_kind.append(kind)
        self.event_for.append(scheduled_for)
        self.event_count.append(count)
        self.event_detail.append(detail)


class ScheduleStore:
    """Schedule reads and writes over an asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def insert(self, name: str, values: dict[str, Any], source: str) -> asyncpg.Record | None:
        """Add a schedule; None when the name is taken."""
        row: asyncpg.Record | None = await self.pool.fetchrow(
            q("insert_schedule"), name, *(values[f] for f in FIELDS), source)
        return row

    async def update(self, name: str, values: dict[str, Any], *,
                     reschedule: bool) -> asyncpg.Record | None:
        """Rewrite a schedule's definition (next_run_at only if `reschedule`); None if absent."""
        row: asyncpg.Record | None = await self.pool.fetchrow(
            q("update_schedule"), name, *(values[f] for f in FIELDS), reschedule)
        return row

    async def upsert_config(self, name: str, values: dict[str, Any]) -> asyncpg.Record:
        """Create or rewrite a schedule declared in config.toml."""
        row: asyncpg.Record | None = await self.pool.fetchrow(
            q("upsert_config_schedule"), name, *(values[f] for f in FIELDS))
        assert row is not None  # an upsert always returns its row
        return row

    async def deactivate_config_except(self, names: Sequence[str]) -> list[str]:
        """Pause config schedules the file no longer declares; their names."""
        rows = await self.pool.fetch(q("deactivate_config_schedules"), list(names))
        return [r["name"] for r in rows]

    async def set_active(self, name: str, active: bool,
                         next_run_at: datetime | None) -> asyncpg.Record | None:
        """Pause or resume a schedule."""
        row: asyncpg.Record | None = await self.pool.fetchrow(
            q("set_schedule_active"), name, active, next_run_at)
        return row

    async def get(self, name: str) -> asyncpg.Record | None:
        """One schedule by name."""
        row: asyncpg.Record | None = await self.pool.fetchrow(q("get_schedule"), name)
        return row

    async def list(self, active: bool | None = None) -> builtins.list[asyncpg.Record]:
        """Schedules by name, optionally only active or only paused ones."""
        rows: list[asyncpg.Record] = await self.pool.fetch(q("list_schedules"), active)
        return rows

    async def delete(self, name: str) -> bool:
        """Remove a schedule (its runs stay, unlinked); False if it did not exist."""
        return await self.pool.fetchval(q("delete_schedule"), name) is not None

    async def trigger(self, name: str, at: datetime) -> asyncpg.Record | None:
        """Create one run now; None if the schedule does not exist."""
        row: asyncpg.Record | None = await self.pool.fetchrow(q("trigger_schedule"), name, at)
        return row

    async def history(self, name: str, limit: int) -> builtins.list[asyncpg.Record]:
        """A schedule's runs, newest first."""
        rows: list[asyncpg.Record] = await self.pool.fetch(q("schedule_history"), name, limit)
        return rows

    async def events(self, name: str, limit: int) -> builtins.list[asyncpg.Record]:
        """A schedule's skips, coalesces, misses, errors and triggers, newest first."""
        rows: list[asyncpg.Record] = await self.pool.fetch(q("schedule_events"), name, limit)
        return rows

    async def next_due_at(self) -> datetime | None:
        """The earliest next_run_at of any active schedule."""
        value: datetime | None = await self.pool.fetchval(q("next_due_at"))
        return value

    @staticmethod
    async def lock_due(conn: Conn, now: datetime,
                       limit: int) -> builtins.list[asyncpg.Record]:
        """Lock up to `limit` due schedules no other scheduler holds (inside a transaction)."""
        rows: list[asyncpg.Record] = await conn.fetch(q("due_schedules"), now, limit)
        return rows

    @staticmethod
    async def fire(conn: Conn, fired_at: datetime, batch: FireBatch) -> int:
        """Write one batch: runs, advanced schedules, events; how many runs were new."""
        b = batch
        row = await conn.fetchrow(
            q("fire_schedules"), fired_at, b.run_schedule, b.run_for, b.run_coalesced,
            b.ids, b.next_run_at, b.coalesced, b.missed, b.skipped, b.errors,
            b.event_schedule, b.event_kind, b.event_for, b.event_count, b.event_detail)
        assert row is not None
        return int(row["fired"])
