"""Elasticsearch date math and RANGE, against the reference's worked examples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.cdp.datemath import (
    DateMathError,
    add_months,
    evaluate,
    parse_duration,
    parse_range,
)

NOW = datetime(2001, 1, 1, 12, 0, tzinfo=UTC)


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(("expr", "expected"), [
    ("now+1h", at(2001, 1, 1, 13)),
    ("now-1h", at(2001, 1, 1, 11)),
    ("now-1h/d", at(2001, 1, 1)),
    ("2001.02.01||+1M/d", at(2001, 3, 1)),
    ("now-1M", at(2000, 12, 1, 12)),
    ("now-1y", at(2000, 1, 1, 12)),
    ("now-14d", at(2000, 12, 18, 12)),
    ("now-1H", at(2001, 1, 1, 11)),
    ("now-90m", at(2001, 1, 1, 10, 30)),
    ("now+30s", at(2001, 1, 1, 12, 0, 30)),
    ("now-1w", at(2000, 12, 25, 12)),
    ("now/w", at(2001, 1, 1)),          # 2001-01-01 is a Monday
    ("now/y", at(2001, 1, 1)),
    ("2001-01-03T10:15:00Z||/h", at(2001, 1, 3, 10)),
    ("2001-01-03T10:15:00+02:00||", at(2001, 1, 3, 8, 15)),
    ("978307200000||+1d", at(2001, 1, 2)),   # epoch millis
])
def test_worked_examples(expr: str, expected: datetime) -> None:
    assert evaluate(expr, NOW) == expected


def test_h_and_H_are_both_hours() -> None:
    assert evaluate("now-3h", NOW) == evaluate("now-3H", NOW) == at(2001, 1, 1, 9)


def test_lte_rounds_up_to_the_last_millisecond_of_the_unit() -> None:
    assert evaluate("2014-11-18||/M", NOW, upper=True) == \
        datetime(2014, 11, 30, 23, 59, 59, 999000, tzinfo=UTC)
    assert evaluate("now/d", NOW, upper=True) == datetime(2001, 1, 1, 23, 59, 59, 999000, UTC)


def test_months_clamp_the_day_like_java_time() -> None:
    assert add_months(at(2001, 3, 31), -1) == at(2001, 2, 28)
    assert evaluate("2000.03.31||-1M", NOW) == at(2000, 2, 29)
    assert evaluate("2000.02.29||+1y", NOW) == at(2001, 2, 28)


@pytest.mark.parametrize(("text", "lo", "hi"), [
    ("now-1h|now", at(2001, 1, 1, 11), NOW),
    ("now-14d|now-5d", at(2000, 12, 18, 12), at(2000, 12, 27, 12)),
    ("now-360d|now-180d", at(2000, 1, 7, 12), at(2000, 7, 5, 12)),
    ("now-1M|now", at(2000, 12, 1, 12), NOW),
    ("now-1y|now", at(2000, 1, 1, 12), NOW),
    ("2000.12.01||/M|now/d", at(2000, 12, 1), datetime(2001, 1, 1, 23, 59, 59, 999000, UTC)),
])
def test_ranges(text: str, lo: datetime, hi: datetime) -> None:
    r = parse_range(text, NOW)
    assert (r.lo, r.hi) == (lo, hi)


@pytest.mark.parametrize(("expr", "position", "problem"), [
    ("now-1x", 5, "expected a unit (y M w d h H m s)"),
    ("now-h", 4, "expected a number"),
    ("now*1h", 3, "expected '+', '-' or '/'"),
    ("now/", 4, "expected a unit (y M w d h H m s)"),
    ("yesterday", 0, "expected 'now' or a date ending in '||'"),
    ("2001.13.45||", 0, "cannot read the date '2001.13.45'"),
])
def test_bad_expressions_name_the_position(expr: str, position: int, problem: str) -> None:
    with pytest.raises(DateMathError) as info:
        evaluate(expr, NOW)
    assert (info.value.position, info.value.problem) == (position, problem)
    assert str(info.value) == f"{problem} at position {position} of {expr!r}"


@pytest.mark.parametrize(("text", "position"), [
    ("now-1h|now-1q", 12),
    ("now-1q|now", 5),
    ("now-1h", 6),
    ("now-1h|now|now", 10),
    ("now|now-1h", 0),  # the lower bound is after the upper
])
def test_bad_ranges_name_the_position_in_the_whole_text(text: str, position: int) -> None:
    with pytest.raises(DateMathError) as info:
        parse_range(text, NOW)
    assert info.value.position == position


def test_durations() -> None:
    assert parse_duration("20m") == timedelta(minutes=20)
    assert parse_duration("2h") == timedelta(hours=2)
    with pytest.raises(ValueError, match="got '20 minutes'"):
        parse_duration("20 minutes")
