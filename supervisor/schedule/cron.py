"""Pure cron engine: validate 5-field expressions and compute fire times in an IANA time zone.

Expressions are evaluated on the local wall clock of the schedule's zone (by cronsim) and
each scheduled wall time is then mapped to real UTC instants with these DST rules:

* Nonexistent local time (spring forward, e.g. Europe/Warsaw 2025-03-30 02:30): a schedule
  with a fixed hour field fires once, at the first instant after the gap (03:00 CEST), like
  classic cron. Several times inside one gap collapse into that single fire.
* Repeated local time (fall back, e.g. Europe/Warsaw 2025-10-26 02:30): a schedule with a
  fixed hour field fires once, at the first occurrence (02:30 CEST).
* A schedule whose hour field is a wildcard or step (starts with ``*``, e.g. ``*/15 * * * *``
  or ``0 */2 * * *``) follows the real elapsed clock: it fires in both passes of a repeated
  hour and skips local times the clock jumps over, so ``*/30`` keeps firing every 30 real
  minutes across both transitions.
* Every returned time is aware UTC and strictly later than the instant asked about; an
  expression that can never match (``0 0 31 2 *``) is rejected with ``CronError``.
"""

from __future__ import annotations

import re
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
_DIGITS = re.compile(r"[0-9]+")
_DAYS_IN_MONTH = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# The longest real fall-back is 2h (Antarctica/Troll); look a little further to be safe.
_OVERLAP_LOOKAHEAD = timedelta(hours=3)
_OFFSET_PROBE_STEP = timedelta(minutes=30)


class CronError(ValueError):
    """A cron expression is malformed or can never fire."""


class TimeZoneError(ValueError):
    """A time zone name is not a known IANA zone."""


@dataclass(frozen=True)
class _FieldSpec:
    """Bounds, symbolic names and help text of one cron field."""

    name: str
    low: int
    high: int
    names: tuple[str, ...]
    accepts: str


_MONTHS = tuple("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split())
_WEEKDAYS = tuple("SUN MON TUE WED THU FRI SAT".split())
_LISTS = "lists (1,2), ranges (1-5) and steps (*/2)"
_WEEKDAY_ACCEPTS = (
    "0-7 (0 and 7 are Sunday) or SUN-SAT, 5L (last Friday), MON#2 (second Monday), "
    "lists (1,5), ranges (MON-FRI) and steps (*/2)"
)
_SPECS = (
    _FieldSpec("minute", 0, 59, (), f"0-59, {_LISTS}"),
    _FieldSpec("hour", 0, 23, (), f"0-23, {_LISTS}"),
    _FieldSpec("day-of-month", 1, 31, (), f"1-31, L (last day), LW (last weekday), {_LISTS}"),
    _FieldSpec("month", 1, 12, _MONTHS, f"1-12 or JAN-DEC, {_LISTS}"),
    _FieldSpec("day-of-week", 0, 7, _WEEKDAYS, _WEEKDAY_ACCEPTS),
)


def _value(spec: _FieldSpec, text: str) -> int | None:
    """Return the number a single value denotes, or None if it is not valid for the field."""
    if text in spec.names:
        # Month names start at 1 (JAN), day names at 0 (SUN): same as the field's low bound.
        return spec.names.index(text) + spec.low
    if _DIGITS.fullmatch(text) and spec.low <= int(text) <= spec.high:
        return int(text)
    return None


def _special_term(spec: _FieldSpec, term: str) -> bool | None:
    """Judge the L / LW / nL / n#k forms: True or False if the term is one, None otherwise."""
    if spec.name == "day-of-month" and term in ("L", "LW"):
        return True
    if spec.name != "day-of-week":
        return None
    if term.endswith("L"):
        # cronsim only accepts digits before L (5L, not FRIL).
        return bool(_DIGITS.fullmatch(term[:-1])) and _value(spec, term[:-1]) is not None
    if "#" in term:
        base, _, nth = term.partition("#")
        return _value(spec, base) is not None and nth in ("1", "2", "3", "4", "5")
    return None


def _expand_term(spec: _FieldSpec, term: str) -> set[int] | None:
    """Return the values one comma-separated term selects, or None if it is malformed."""
    base, slash, step_text = term.partition("/")
    if slash and not (_DIGITS.fullmatch(step_text) and int(step_text) > 0):
        return None
    step = int(step_text) if slash else 1
    if base == "*":
        return set(range(spec.low, spec.high + 1, step))
    low_text, dash, high_text = base.partition("-")
    low = _value(spec, low_text)
    # A lone start with a step ("5/15") runs to the end of the field, as in cronsim.
    high = _value(spec, high_text) if dash else (spec.high if slash else low)
    if low is None or high is None or low > high:
        return None
    return set(range(low, high + 1, step))


def _expand_field(spec: _FieldSpec, text: str) -> set[int]:
    """Validate one field and return the plain values it selects; raise CronError if invalid."""
    values: set[int] = set()
    for term in text.split(","):
        special = _special_term(spec, term)
        expanded = _expand_term(spec, term) if special is None else None
        if special is False or (special is None and expanded is None):
            raise CronError(
                f"{spec.name} field {text!r} is invalid: {spec.name} accepts {spec.accepts}"
            )
        # L and LW exist in every month, so count them as the always-reachable day 1.
        values |= expanded if expanded is not None else {spec.low}
    return values


def _check_reachable(fields: list[str], days: set[int], months: set[int]) -> None:
    """Raise CronError when day-of-month can never fall in any of the selected months."""
    # A day-of-week restriction ORs with day-of-month unless either field starts with '*'.
    days_and_weekdays = fields[2].startswith("*") or fields[4].startswith("*")
    longest = max(_DAYS_IN_MONTH[month] for month in months)
    if days_and_weekdays and min(days) > longest:
        raise CronError(
            f"day-of-month {fields[2]!r} never occurs in month {fields[3]!r}: "
            "the expression never fires"
        )


def _normalise(expr: str) -> str:
    """Return the validated upper-case 5-field form of an expression or alias."""
    text = expr.strip()
    if text.startswith("@"):
        if text.lower() not in _ALIASES:
            known = ", ".join(_ALIASES)
            raise CronError(f"unknown cron alias {text!r}: expected one of {known}")
        text = _ALIASES[text.lower()]
    fields = text.upper().split()
    if len(fields) != 5:
        raise CronError(
            f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}"
        )
    values = [_expand_field(spec, field) for spec, field in zip(_SPECS, fields, strict=True)]
    _check_reachable(fields, values[2], values[3])
    normalised = " ".join(fields)
    try:
        CronSim(normalised, datetime(2000, 1, 1))
    except CronSimError as exc:
        raise CronError(f"invalid cron expression {expr!r}: {exc}") from exc
    return normalised


def parse_timezone(name: str) -> ZoneInfo:
    """Return the ZoneInfo for an IANA name; raise TimeZoneError if it is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        # OSError covers directory names such as "Europe".
        raise TimeZoneError(
            f"unknown time zone {name!r}: use an IANA name such as 'Europe/Warsaw' or 'UTC'"
        ) from exc


def _as_utc(value: datetime, name: str) -> datetime:
    """Return an aware datetime converted to UTC; raise ValueError for a naive one."""
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
        """Build a schedule from an expression (or @alias) and an IANA zone name."""
        return cls(expr, parse_timezone(tz))

    def next_after(self, after: datetime) -> datetime:
        """Return the first fire time strictly after `after`, as aware UTC."""
        return _next_fire(self, _as_utc(after, "after")).utc

    def fires_between(self, after: datetime, until: datetime, limit: int) -> list[datetime]:
        """Return up to `limit` fire times t with after < t <= until, as aware UTC."""
        if limit < 0:
            raise ValueError(f"limit must be >= 0, got {limit}")
        cursor, end = _as_utc(after, "after"), _as_utc(until, "until")
        fires: list[datetime] = []
        while len(fires) < limit and cursor < end:
            cursor = _next_fire(self, cursor).utc
            if cursor > end:
                break
            fires.append(cursor)
        return fires


# How a scheduled wall time relates to DST: normal, in a gap, or repeated by an overlap
# (fired once, or fired on the first/second pass).
_Kind = Literal["normal", "gap", "once", "first", "second"]


@dataclass(frozen=True)
class _Fire:
    """One real fire instant and the local wall time that scheduled it."""

    utc: datetime
    wall: datetime
    kind: _Kind


def _offset(tz: ZoneInfo, instant: datetime) -> timedelta:
    """Return the zone's UTC offset at an instant."""
    # ZoneInfo always has an offset; `or` only narrows the Optional for the type checker.
    return instant.astimezone(tz).utcoffset() or timedelta(0)


def _gap_end(tz: ZoneInfo, before: datetime, after: datetime) -> datetime:
    """Return the transition instant of the DST gap between two UTC instants."""
    low, high = int(before.timestamp()), int(after.timestamp())
    old_offset = _offset(tz, before)
    # tzdata transitions fall on whole seconds, so bisecting on seconds is exact.
    while high - low > 1:
        middle = (low + high) // 2
        if _offset(tz, datetime.fromtimestamp(middle, UTC)) == old_offset:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)


def _follows_clock(schedule: CronSchedule) -> bool:
    """Whether the hour field is a wildcard/step, i.e. the schedule follows the real clock."""
    return schedule.expr.split()[1].startswith("*")


def _resolve(schedule: CronSchedule, wall: datetime) -> list[_Fire]:
    """Map one scheduled wall time to its real UTC fire instants, earliest first."""
    first = wall.replace(tzinfo=schedule.tz, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=schedule.tz, fold=1).astimezone(UTC)
    if first == second:
        return [_Fire(first, wall, "normal")]
    if first.astimezone(schedule.tz).replace(tzinfo=None) != wall:
        # The wall time is in a gap; fold=1 reads it with the later offset, so it is the
        # earlier instant, and the transition lies between the two readings.
        if _follows_clock(schedule):
            return []
        return [_Fire(_gap_end(schedule.tz, second, first), wall, "gap")]
    if _follows_clock(schedule):
        return [_Fire(first, wall, "first"), _Fire(second, wall, "second")]
    return [_Fire(first, wall, "once")]


def _scan_start(schedule: CronSchedule, after: datetime) -> datetime:
    """Return the naive wall time to scan from, early enough to see second passes."""
    # Inside the first pass of an overlap, the second pass of earlier-looking wall times
    # (e.g. 02:00 CET after 02:30 CEST) is still ahead, so start from the lowest wall time
    # the clock will show soon.
    probes = int(_OVERLAP_LOOKAHEAD / _OFFSET_PROBE_STEP)
    lowest = min(_offset(schedule.tz, after + _OFFSET_PROBE_STEP * k) for k in range(probes + 1))
    wall = (after + lowest).replace(tzinfo=None, microsecond=0)
    # cronsim yields times strictly after its start; step back so `wall` itself is seen.
    return wall - timedelta(seconds=1)


def _next_fire(schedule: CronSchedule, after: datetime) -> _Fire:
    """Return the earliest fire strictly after the aware UTC instant `after`."""
    best: _Fire | None = None
    # cronsim gives up (StopIteration ends the loop) after 50 years without a match.
    for wall in CronSim(schedule.expr, _scan_start(schedule, after)):
        fires = _resolve(schedule, wall)
        for fire in fires:
            if fire.utc > after and (best is None or fire.utc < best.utc):
                best = fire
        # The earliest instant of each wall time never decreases as wall time grows, and
        # later passes are later still, so nothing after this wall can beat `best`.
        if fires and fires[0].utc > after:
            break
    if best is None:
        raise CronError(f"cron expression {schedule.expr!r} never fires after {after.isoformat()}")
    return best


@dataclass(frozen=True)
class ExplainedFire:
    """One upcoming fire in UTC and local time, with a note when DST changed it."""

    utc: datetime
    local: datetime
    note: str | None


def _note(tz: ZoneInfo, fire: _Fire) -> str | None:
    """Describe how DST affected a fire, or None when it did not."""
    wall = f"local {fire.wall:%H:%M}"
    local = fire.utc.astimezone(tz)
    twice = f"{wall} occurs twice (DST overlap)"
    notes = {
        "normal": None,
        "gap": f"{wall} does not exist (DST gap); fires at {local:%H:%M %Z}",
        "once": f"{twice}; fires once, at the first ({local:%Z})",
        "first": f"{twice}; fires at both, this is the first ({local:%Z})",
        "second": f"{twice}; fires at both, this is the second ({local:%Z})",
    }
    return notes[fire.kind]


def explain(schedule: CronSchedule, start: datetime, count: int) -> list[ExplainedFire]:
    """Return the next `count` fires strictly after `start`, with DST notes."""
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    cursor = _as_utc(start, "start")
    explained: list[ExplainedFire] = []
    for _ in range(count):
        fire = _next_fire(schedule, cursor)
        explained.append(
            ExplainedFire(fire.utc, fire.utc.astimezone(schedule.tz), _note(schedule.tz, fire))
        )
        cursor = fire.utc
    return explained
