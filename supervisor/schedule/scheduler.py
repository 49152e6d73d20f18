"""The scheduler service: turns due cron occurrences into job runs, exactly once per occurrence.

Each tick locks up to JOB_SCHEDULER_BATCH due schedules (`FOR NO KEY UPDATE SKIP LOCKED`, so
any number of schedulers share the work without waiting on each other), plans their fires
in Python (supervisor.schedule.rules) and, in the same transaction, inserts the runs and
advances next_run_at; it repeats until nothing is due. The unique (schedule_id,
scheduled_for) is the last guard. Between ticks it sleeps until the earliest next_run_at or
JOB_SCHEDULER_POLL_MS, whichever is sooner, and wakes at once when a schedule changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import asyncpg
from anyio.abc import TaskStatus

from supervisor.jobtypes import Registry
from supervisor.metrics import SCHEDULE_LATENESS
from supervisor.runtime.liveness import beat
from supervisor.runtime.waiting import Backoff, wait_any, wait_retry
from supervisor.schedule.cron import CronError, TimeZoneError
from supervisor.schedule.rules import Plan, apply_overlap, compile_cron, plan_fires
from supervisor.store.db import is_transient
from supervisor.store.schedules import Conn, FireBatch, ScheduleStore

log = logging.getLogger("supervisor.schedule.scheduler")
# A schedule the scheduler cannot compute is retried this much later (and reported each time).
BROKEN_RETRY = timedelta(hours=1)
LOCKED_RETRY = 0.5
# Batch transactions a tick runs at once: overlaps one batch's round trips with another's work.
CONCURRENCY = 3


@dataclass
class TickReport:
    """What one tick did, summed over its batches."""

    due: int = 0
    fired: int = 0
    skipped_overlap: int = 0
    coalesced: int = 0
    missed: int = 0
    broken: int = 0
    conflicts: int = 0  # runs another scheduler had already created (0 unless rows were edited)
    batches: int = 0


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _worst(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error to report from a failed tick: a non-transient one if any, else the first."""
    leaves: list[BaseException] = []
    stack: list[BaseException] = [group]
    while stack:
        exc = stack.pop(0)
        if isinstance(exc, BaseExceptionGroup):
            stack.extend(exc.exceptions)
        else:
            leaves.append(exc)
    return next((e for e in leaves if not is_transient(e)), leaves[0])


@asynccontextmanager
async def _unflushed_transaction(conn: Conn) -> AsyncIterator[None]:
    """A transaction whose commit does not wait for the WAL flush, begun in one round trip.

    Safe here: the runs and the advanced next_run_at commit or vanish together, so if a
    PostgreSQL crash loses the commit, the next tick fires the same occurrences again, still
    once each.
    """
    await conn.execute("BEGIN; SET LOCAL synchronous_commit TO off")
    try:
        yield
    except BaseException:
        with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
            await conn.execute("ROLLBACK")
        raise
    await conn.execute("COMMIT")


class Scheduler:
    """Fires due schedules every tick; several may run against one database."""

    def __init__(
        self, pool: asyncpg.Pool, registry: Registry | None = None, *, poll_seconds: float = 60.0,
        batch: int = 25, concurrency: int = CONCURRENCY, grace_seconds: float | None = None,
        clock: Callable[[], datetime] | None = None, wake: asyncio.Event | None = None,
        declared: Mapping[str, Any] | None = None,
    ) -> None:
        self.pool = pool
        self.store = ScheduleStore(pool)
        self.registry = registry
        self.poll_seconds = poll_seconds
        self.batch = batch
        self.concurrency = concurrency
        # An occurrence reached within one tick interval is on time, not a misfire.
        self.grace = timedelta(seconds=poll_seconds if grace_seconds is None else grace_seconds)
        self.clock = clock or _utcnow
        self.wake = wake
        self.declared = declared

    async def tick_once(self, now: datetime | None = None) -> TickReport:
        """Fire everything due at `now` (default: the clock), batch after batch."""
        now = now or self.clock()
        report = TickReport()

        async def drain() -> None:
            # A short batch means every unlocked due row was taken; locked ones are in the
            # hands of a sibling (or another scheduler), which goes on until it sees none.
            async with self.pool.acquire() as conn:
                while await self._batch(conn, now, report) == self.batch:
                    pass

        try:
            async with anyio.create_task_group() as tg:
                for _ in range(self.concurrency):
                    tg.start_soon(drain)
        except BaseExceptionGroup as group:
            # Callers judge the error itself (is the database away?), not the group around it.
            raise _worst(group) from None
        level = logging.INFO if report.due else logging.DEBUG
        log.log(level, "scheduler tick: %d due, %d fired, %d skipped, %d coalesced",
                report.due, report.fired, report.skipped_overlap, report.coalesced, extra={
                    "action": "scheduler_tick", "due": report.due, "fired": report.fired,
                    "skipped": report.skipped_overlap, "coalesced": report.coalesced,
                    "missed": report.missed, "broken": report.broken,
                    "batches": report.batches})
        return report

    async def _batch(self, conn: Conn, now: datetime, report: TickReport) -> int:
        """One transaction: lock due rows, plan, write; how many rows it took."""
        async with _unflushed_transaction(conn):
            rows = await self.store.lock_due(conn, now, self.batch)
            if not rows:
                return 0
            work = FireBatch()
            for row in rows:
                self._plan_row(row, now, work, report)
            fired_at = max(now, self.clock())
            fired = await self.store.fire(conn, fired_at, work)
        for at in work.run_for:
            SCHEDULE_LATENESS.observe((fired_at - at).total_seconds())
        report.due += len(rows)
        report.fired += fired
        report.conflicts += len(work.run_for) - fired
        report.batches += 1
        return len(rows)

    def _plan_row(self, row: asyncpg.Record, now: datetime, work: FireBatch,
                  report: TickReport) -> None:
        """Add one schedule's runs, counters and events to the batch."""
        sid = row["id"]
        try:
            plan = self._plan(row, now)
        except (CronError, TimeZoneError, ValueError) as exc:
            report.broken += 1
            log.error("schedule %s cannot fire: %s", row["name"], exc, extra={
                "action": "schedule_broken", "schedule": row["name"], "error": str(exc)})
            work.advance(sid, now + BROKEN_RETRY, error=str(exc))
            work.event(sid, "error", row["next_run_at"], 1, str(exc))
            return
        fires, skipped = apply_overlap(plan.fires, overlap=row["overlap"], busy=row["busy"])
        coalesced = plan.coalesced if fires else 0
        for at in fires:
            work.run(sid, at, coalesced if at == fires[-1] else 0)
        work.advance(sid, plan.next_run_at, coalesced=coalesced, missed=plan.missed,
                     skipped=skipped)
        self._events(sid, plan, fires, skipped, coalesced, work)
        report.skipped_overlap += skipped
        report.coalesced += coalesced
        report.missed += plan.missed

    def _plan(self, row: asyncpg.Record, now: datetime) -> Plan:
        # The job type is not checked here: schedulers and workers may load different job
        # modules, and a run of a type its worker does not know ends with that error recorded.
        cron = compile_cron(row["cron"], row["timezone"])
        return plan_fires(cron, row["next_run_at"], now, policy=row["misfire_policy"],
                          limit=row["misfire_limit"], grace=self.grace)

    @staticmethod
    def _events(sid: int, plan: Plan, fires: tuple[datetime, ...], skipped: int,
                coalesced: int, work: FireBatch) -> None:
        more = "at least " if plan.at_least else ""
        if skipped:
            at = plan.fires[-1]
            work.event(sid, "skipped_overlap", at, skipped,
                       "the previous run has not finished" if not fires
                       else "one run per tick while overlap is off")
        if coalesced:
            work.event(sid, "coalesced", fires[-1], coalesced,
                       f"{more}{coalesced} missed occurrence(s) folded into this run")
        if plan.missed:
            work.event(sid, "missed", plan.next_run_at, plan.missed,
                       f"{more}{plan.missed} missed occurrence(s) not fired (misfire policy)")

    async def next_wait(self, report: TickReport) -> float:
        """Seconds until the earliest next_run_at, capped at the poll interval."""
        due = await self.store.next_due_at()
        if due is None:
            return self.poll_seconds
        left = (due - self.clock()).total_seconds()
        if left <= 0 and not report.due:
            # Due but locked: another scheduler is firing it; look again shortly, do not spin.
            return min(self.poll_seconds, LOCKED_RETRY)
        # A hair past the due time, so a timer that fires early does not find it not yet due.
        return max(0.0, min(self.poll_seconds, left + 0.001))

    async def run(
        self, stopping: asyncio.Event, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Sync config.toml schedules, then tick until `stopping`, waiting out database outages."""
        task_status.started()
        backoff = Backoff()
        # Synced inside the loop, so a database away at (re)start is waited out like any tick.
        unsynced = self.declared is not None and self.registry is not None
        while not stopping.is_set():
            beat(self.poll_seconds)
            if self.wake is not None:
                self.wake.clear()
            try:
                if unsynced:
                    await self._sync()
                    unsynced = False
                report = await self.tick_once()
                delay = await self.next_wait(report)
                backoff.reset()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                delay = min(self.poll_seconds, backoff.next())
                log.warning("database unavailable, will retry", extra={
                    "action": "scheduler_tick", "error": str(exc), "delay": delay})
                await wait_retry(delay, stopping, self.wake)
                continue
            await wait_any(stopping, self.wake, timeout=delay)

    async def _sync(self) -> None:
        from supervisor.schedule.service import ScheduleService
        from supervisor.schedule.sync import sync_config

        assert self.declared is not None and self.registry is not None
        await sync_config(ScheduleService(self.pool, self.registry, clock=self.clock),
                          self.declared)
