"""Pure schedule rules: which occurrences a tick fires, coalesces, drops or skips for overlap.

Misfire rules (``grace`` is one scheduler tick interval, JOB_SCHEDULER_POLL_MS):

* An occurrence reached at most ``grace`` after its time is on time and always fires.
* Older ones are missed (the scheduler was down or stuck). When a tick finds any:
  ``coalesce`` fires one run for the newest due occurrence and records how many it stands
  for; ``fire_all`` fires every missed occurrence, the newest ``misfire_limit`` of them if
  there are more, and records the dropped ones; ``skip`` fires only the on-time ones and
  records the missed ones.
* Past ``SCAN_LIMIT`` missed occurrences (a week of an every-minute schedule) the counts
  recorded are lower bounds: counting further would stall the tick.

Overlap rule: without ``overlap``, a schedule that still has an unfinished run (open,
in_queue, processing, retry_in_queued, or failed and waiting for its retry) gets no new run;
and a tick creates at most one run for it, the oldest it would have fired. The rest count
as overlap skips. Either way ``next_run_at`` moves past ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Literal

from supervisor.schedule.cron import CronSchedule

MisfirePolicy = Literal["coalesce", "fire_all", "skip"]
MISFIRE_POLICIES: tuple[str, ...] = ("coalesce", "fire_all", "skip")
SCAN_LIMIT = 10_000
MISFIRE_LIMIT_MAX = 1_000
_FIRST_WINDOW = timedelta(hours=1)
_TICK = timedelta(microseconds=1)


@lru_cache(maxsize=1024)
def compile_cron(expr: str, tz: str) -> CronSchedule:
    """A parsed schedule, cached: a tick sees the same few expressions again and again."""
    return CronSchedule.parse(expr, tz)


@lru_cache(maxsize=65_536)
def next_fire(cron: CronSchedule, after: datetime) -> datetime:
    """The first fire strictly after `after`, cached: schedules sharing a cron share the answer."""
    return cron.next_after(after)


@dataclass(frozen=True)
class Plan:
    """What one tick does for one schedule before the overlap rule."""

    fires: tuple[datetime, ...]
    next_run_at: datetime
    coalesced: int = 0
    missed: int = 0
    at_least: bool = False  # the counts are lower bounds (more than SCAN_LIMIT were due)


def _due(cron: CronSchedule, first: datetime,
         now: datetime) -> tuple[list[datetime], datetime, bool]:
    """Occurrences from `first` up to `now` (oldest first), the next one after them, and
    whether SCAN_LIMIT cut the list short."""
    found: list[datetime] = []
    at = first
    while at <= now:
        if len(found) == SCAN_LIMIT:
            return found, at, True
        found.append(at)
        at = next_fire(cron, at)
    return found, at, False


def _newest(cron: CronSchedule, floor: datetime, now: datetime, keep: int,
            grace: timedelta) -> tuple[list[datetime], int]:
    """Every on-time occurrence plus the `keep` newest late ones in (floor, now], oldest
    first, and how many occurrences the window searched held."""
    span = max(_FIRST_WINDOW, grace)
    while True:
        start = max(floor, now - span)
        found = cron.fires_between(start, now, SCAN_LIMIT)
        late = [t for t in found if now - t > grace]
        if len(late) >= keep or start == floor:
            return late[-keep:] + [t for t in found if now - t <= grace], len(found)
        span *= 2


def plan_fires(
    cron: CronSchedule, next_run_at: datetime, now: datetime, *, policy: str, limit: int,
    grace: timedelta,
) -> Plan:
    """Apply the misfire policy to the occurrences due at `now`."""
    due, upcoming, capped = _due(cron, next_run_at, now)
    if not due:
        return Plan((), next_run_at)
    total = len(due)
    if capped:
        due, seen = _newest(cron, due[-1], now, max(limit, 1), grace)
        total += seen
        upcoming = cron.next_after(now)
    on_time = [t for t in due if now - t <= grace]
    missed = total - len(on_time)
    if missed == 0:
        return Plan(tuple(on_time), upcoming)
    if policy == "coalesce":
        return Plan((due[-1],), upcoming, coalesced=total - 1, at_least=capped)
    if policy == "fire_all":
        kept = [t for t in due if now - t > grace][-limit:]
        return Plan(tuple(kept + on_time), upcoming, missed=missed - len(kept), at_least=capped)
    return Plan(tuple(on_time), upcoming, missed=missed, at_least=capped)


def apply_overlap(
    fires: tuple[datetime, ...], *, overlap: bool, busy: bool
) -> tuple[tuple[datetime, ...], int]:
    """The fires that survive the overlap rule, and how many it skipped."""
    if overlap or not fires:
        return fires, 0
    if busy:
        return (), len(fires)
    return fires[:1], len(fires) - 1
