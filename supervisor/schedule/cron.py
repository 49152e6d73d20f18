"""Cron expressions in an IANA time zone: a thin layer over cronsim.

cronsim does the arithmetic, on aware zoneinfo times, with Debian cron's DST rules:

* A schedule at fixed times (neither the minute nor the hour field starts with ``*``, e.g.
  ``30 2 * * *``) follows the wall clock. A time the clock skips (spring forward, Europe/Warsaw
  2025-03-30 02:30) fires once, at the first instant after the gap (03:00 CEST); several times
  in one gap collapse into that fire. A repeated time (fall back, 2025-10-26 02:30) fires once,
  at its first occurrence (CEST).
* Any other schedule (``*/15 * * * *``, ``30 * * * *``, ``*/20 2 * * *``) follows the real
  elapsed clock: it fires in both passes of a repeated hour and skips times that do not exist.

This module adds what cronsim leaves to its callers: the @aliases, error messages that name the
field and what it accepts, fire times as aware UTC strictly after the instant asked about, a
refusal of expressions that can never fire, and the DST notes of `explain`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

_ALIASES = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_NAMES = ("minute", "hour", "day-of-month", "month", "day-of-week")
_LISTS = "lists (1,2), ranges (1-5) and steps (*/2)"
_ACCEPTS = {
    "minute": f"0-59, {_LISTS}",
    "hour": f"0-23, {_LISTS}",
    "day-of-month": f"1-31, L (last day), LW (last weekday), {_LISTS}",
    "month": f"1-12 or JAN-DEC, {_LISTS}",
    "day-of-week": "0-7 (0 and 7 are Sunday) or SUN-SAT, 5L (last Friday), MON#2 (second "
                   "Monday), lists (1,5), ranges (MON-FRI) and steps (*/2)",
}
_PROBE = datetime(2000, 1, 1)
_SECOND = timedelta(seconds=1)


class CronError(ValueError):
    """A cron expression is malformed or can never fire."""


class TimeZoneError(ValueError):
    """A time zone name is not a known IANA zone."""


def _field_error(fields: list[str], name: str) -> CronError:
    text = fields[_NAMES.index(name)]
    return CronError(f"{name} field {text!r} is invalid: {name} accepts {_ACCEPTS[name]}")


def _check(fields: list[str]) -> None:
    """Raise CronError naming the field cronsim refuses, or saying the expression never fires."""
    try:
        CronSim(" ".join(fields), _PROBE)
        return
    except CronSimError as exc:
        name = str(exc).removeprefix("Bad ")
    if name not in _NAMES:
        raise CronError(f"invalid cron expression {' '.join(fields)!r}: {name}")
    if name == "day-of-month":
        try:  # the day is fine alone: it just never falls in the chosen months
            CronSim(f"0 0 {fields[2]} * *", _PROBE)
        except CronSimError:
            pass
        else:
            raise CronError(f"day-of-month {fields[2]!r} never occurs in month {fields[3]!r}: "
                            "the expression never fires")
    raise _field_error(fields, name)


def _normalise(expr: str) -> str:
    """The validated upper-case 5-field form of an expression or alias."""
    text = expr.strip()
    if text.startswith("@"):
        if text.lower() not in _ALIASES:
            raise CronError(f"unknown cron alias {text!r}: expected one of {', '.join(_ALIASES)}")
        text = _ALIASES[text.lower()]
    fields = text.upper().split()
    if len(fields) != 5:
        raise CronError(
            f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}")
    if any(term.startswith("L") and "/" in term for term in fields[2].split(",")):
        raise _field_error(fields, "day-of-month")  # cronsim would read L/2 as plain L
    _check(fields)
    return " ".join(fields)



def parse_timezone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name; TimeZoneError if it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        # OSError covers directory names such as "Europe".
        raise TimeZoneError(
            f"unknown time zone {name!r}: use an IANA name such as 'Europe/Warsaw' or 'UTC'"
        ) from exc


def _as_utc(value: datetime, name: str) -> datetime:
    """An aware datetime converted to UTC; ValueError for a naive one."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value.isoformat()}")
    return value.astimezone(UTC)


@dataclass(frozen=True)
class CronSchedule:
    """A validated cron expression bound to a time zone."""

    expr: str
    tz: ZoneInfo

    def __post_init__(self) -> None:
        """Validate and normalise the expression, so direct construction is safe too."""
        object.__setattr__(self, "expr", _normalise(self.expr))

    @classmethod
    def parse(cls, expr: str, tz: str = "UTC") -> CronSchedule:
        """A schedule from an expression (or @alias) and an IANA zone name."""
        return cls(expr, parse_timezone(tz))

    def fires(self, after: datetime) -> Iterator[datetime]:
        """Fire times strictly after `after`, as aware UTC, in order."""
        start = _as_utc(after, "after")
        last = start
        # On the wall clock cronsim may answer a time already passed (the first pass of a
        # repeated hour, asked from its second pass): those are skipped.
        for fire in CronSim(self.expr, start.astimezone(self.tz)):
            utc = fire.astimezone(UTC)
            if utc > last:
                last = utc
                yield utc

    def next_after(self, after: datetime) -> datetime:
        """The first fire time strictly after `after`, as aware UTC."""
        for fire in self.fires(after):
            return fire
        raise CronError(f"cron expression {self.expr!r} never fires after {after.isoformat()}")

    def fires_between(self, after: datetime, until: datetime, limit: int) -> list[datetime]:
        """Up to `limit` fire times t with after < t <= until, as aware UTC."""
        if limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        end = _as_utc(until, "until")
        found: list[datetime] = []
        if limit == 0:
            return found
        for fire in self.fires(after):
            if fire > end:
                break
            found.append(fire)
            if len(found) >= limit:
                break
        return found


@dataclass(frozen=True)
class ExplainedFire:
    """One upcoming fire in UTC and local time, with a note when DST changed it."""

    utc: datetime
    local: datetime
    note: str | None


_Kind = Literal["normal", "gap", "once", "first", "second"]


def _matches(expr: str, wall: datetime) -> bool:
    """Whether the expression selects this naive wall time."""
    return next(CronSim(expr, wall - _SECOND), None) == wall


def _ambiguous(local: datetime) -> bool:
    return local.replace(fold=0).utcoffset() != local.replace(fold=1).utcoffset()


def _kind(schedule: CronSchedule, local: datetime) -> tuple[_Kind, datetime]:
    """How DST shaped a fire, and the wall time that scheduled it."""
    wall = local.replace(tzinfo=None)
    minute, hour = schedule.expr.split()[:2]
    if minute.startswith("*") or hour.startswith("*"):  # follows the real clock
        if _ambiguous(local):
            return ("first" if local.fold == 0 else "second"), wall
        return "normal", wall
    if _ambiguous(local):
        return "once", wall
    if not _matches(schedule.expr, wall):
        # Moved forward out of a gap: the scheduled time is the first one selected inside it.
        before = (local.astimezone(UTC) - _SECOND).astimezone(schedule.tz).utcoffset()
        gap = (local.utcoffset() or timedelta(0)) - (before or timedelta(0))
        scheduled = next(CronSim(schedule.expr, wall - gap - _SECOND), wall)
        return "gap", scheduled
    return "normal", wall


def _note(kind: _Kind, wall: datetime, local: datetime) -> str | None:
    """Describe how DST affected a fire, or None when it did not."""
    at = f"local {wall:%H:%M}"
    twice = f"{at} occurs twice (DST overlap)"
    notes = {
        "normal": None,
        "gap": f"{at} does not exist (DST gap); fires at {local:%H:%M %Z}",
        "once": f"{twice}; fires once, at the first ({local:%Z})",
        "first": f"{twice}; fires at both, this is the first ({local:%Z})",
        "second": f"{twice}; fires at both, this is the second ({local:%Z})",
    }
    return notes[kind]


def explain(schedule: CronSchedule, start: datetime, count: int) -> list[ExplainedFire]:
    """The next `count` fires strictly after `start`, with DST notes."""
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    explained: list[ExplainedFire] = []
    for fire in schedule.fires(_as_utc(start, "start")):
        if len(explained) >= count:
            break
        local = fire.astimezone(schedule.tz)
        kind, wall = _kind(schedule, local)
        explained.append(ExplainedFire(fire, local, _note(kind, wall, local)))
    return explained
