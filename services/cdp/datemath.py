"""Elasticsearch date math (`now-1h/d`, `2001.02.01||+1M`) and Tracardi's `RANGE="lo|hi"`."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

UNITS = "y M w d h H m s"
_UNITS = frozenset(UNITS.split())
_FIXED = {"w": timedelta(weeks=1), "d": timedelta(days=1), "h": timedelta(hours=1),
          "H": timedelta(hours=1), "m": timedelta(minutes=1), "s": timedelta(seconds=1)}
# One `|` that is not half of `||` separates the two bounds of RANGE.
_RANGE_SPLIT = re.compile(r"(?<!\|)\|(?!\|)")
_DATE = re.compile(
    r"(?P<y>\d{4})(?:[-./](?P<mo>\d{1,2})(?:[-./](?P<d>\d{1,2})"
    r"(?:[T ](?P<h>\d{1,2})(?::(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,6}))?)?)?"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2})?)?)?)?$"
)
_DURATION = re.compile(r"^\s*(\d+)\s*([yMwdhHms])\s*$")


class DateMathError(ValueError):
    """A date math expression that cannot be read; `position` is the 0-based offset of the fault."""

    def __init__(self, expression: str, position: int, problem: str) -> None:
        super().__init__(f"{problem} at position {position} of {expression!r}")
        self.expression = expression
        self.position = position
        self.problem = problem


@dataclass(frozen=True)
class Range:
    """A parsed RANGE: both bounds resolved against one frozen `now` (gte lo, lte hi)."""

    lo: datetime
    hi: datetime
    text: str


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar month arithmetic that clamps the day, as java.time does (03-31 - 1M = 02-28)."""
    index = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _shift(moment: datetime, amount: int, unit: str) -> datetime:
    if unit == "y":
        return add_months(moment, 12 * amount)
    if unit == "M":
        return add_months(moment, amount)
    return moment + amount * _FIXED[unit]


def round_down(moment: datetime, unit: str) -> datetime:
    """The first instant of the unit holding `moment` (weeks start on Monday, UTC)."""
    if unit == "y":
        return moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "M":
        return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "w":
        return day - timedelta(days=moment.weekday())
    if unit == "d":
        return day
    if unit in "hH":
        return moment.replace(minute=0, second=0, microsecond=0)
    if unit == "m":
        return moment.replace(second=0, microsecond=0)
    return moment.replace(microsecond=0)


def round_up(moment: datetime, unit: str) -> datetime:
    """The last millisecond of the unit holding `moment` (how `lte` rounds)."""
    return _shift(round_down(moment, unit), 1, unit) - timedelta(milliseconds=1)


def parse_date(text: str) -> datetime:
    """An anchor date (`2001.02.01`, `2001-02-01T10:00:00Z`, epoch millis) as aware UTC."""
    if text.isdigit() and len(text) > 8:
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    m = _DATE.match(text)
    if m is None:
        raise ValueError(text)
    parts = [int(m[k]) if m[k] else d for k, d in (("y", 0), ("mo", 1), ("d", 1), ("h", 0),
                                                    ("mi", 0), ("s", 0))]
    micro = int((m["f"] or "0").ljust(6, "0"))
    year, month, day, hour, minute, second = parts
    moment = datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)
    tz = m["tz"]
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        moment -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return moment


def _anchor(expr: str, now: datetime) -> tuple[datetime, int]:
    if expr.startswith("now"):
        return now, 3
    end = expr.find("||")
    if end < 0:
        raise DateMathError(expr, 0, "expected 'now' or a date ending in '||'")
    try:
        return parse_date(expr[:end]), end + 2
    except ValueError:
        raise DateMathError(expr, 0, f"cannot read the date {expr[:end]!r}") from None


def evaluate(expr: str, now: datetime, *, upper: bool = False) -> datetime:
    """Resolve one expression; `upper` rounds `/unit` to the unit's last ms (an `lte` bound)."""
    moment, pos = _anchor(expr, now)
    while pos < len(expr):
        op = expr[pos]
        if op == "/":
            unit = expr[pos + 1:pos + 2]
            if unit not in _UNITS:
                raise DateMathError(expr, pos + 1, f"expected a unit ({UNITS})")
            moment = round_up(moment, unit) if upper else round_down(moment, unit)
            pos += 2
            continue
        if op not in "+-":
            raise DateMathError(expr, pos, "expected '+', '-' or '/'")
        digits = re.match(r"\d+", expr[pos + 1:])
        if digits is None:
            raise DateMathError(expr, pos + 1, "expected a number")
        pos += 1 + len(digits[0])
        unit = expr[pos:pos + 1]
        if unit not in _UNITS:
            raise DateMathError(expr, pos, f"expected a unit ({UNITS})")
        moment = _shift(moment, int(digits[0]) * (1 if op == "+" else -1), unit)
        pos += 1
    return moment


def parse_range(text: str, now: datetime) -> Range:
    """`"lo|hi"` as gte/lte bounds against one `now`; errors give positions in the whole text."""
    parts = _RANGE_SPLIT.split(text)
    if len(parts) != 2:
        where = len(text) if len(parts) < 2 else len(parts[0]) + 1 + len(parts[1])
        raise DateMathError(text, where, "expected two bounds separated by one '|' (lo|hi)")
    lo_text, hi_text = parts[0].strip(), parts[1].strip()
    offset = len(parts[0]) + 1 + (len(parts[1]) - len(parts[1].lstrip()))
    try:
        lo = evaluate(lo_text, now)
    except DateMathError as exc:
        lead = len(parts[0]) - len(parts[0].lstrip())
        raise DateMathError(text, exc.position + lead, exc.problem) from None
    try:
        hi = evaluate(hi_text, now, upper=True)
    except DateMathError as exc:
        raise DateMathError(text, exc.position + offset, exc.problem) from None
    if lo > hi:
        raise DateMathError(text, 0, f"the lower bound {lo:%Y-%m-%dT%H:%M:%SZ} is after the upper")
    return Range(lo, hi, text)


def parse_duration(text: str) -> timedelta:
    """A look-back like NO_EVENTS_WITHIN_LAST="20m" (`<int><unit>`, units as in date math)."""
    m = _DURATION.match(text)
    if m is None:
        raise ValueError(f"expected a number and a unit ({UNITS}), e.g. '20m'; got {text!r}")
    amount, unit = int(m[1]), m[2]
    if unit in "yM":
        return timedelta(days=(365 if unit == "y" else 30) * amount)
    return amount * _FIXED[unit]
