"""The condition language: each operator, value and function on examples in the reference's
notation, and the errors that point at the column."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.cdp.segments.condition import ConditionError, evaluate, parse
from services.cdp.segments.condition.times import parse_offset, parse_time

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
PROFILE: dict[str, Any] = {
    "id": "p1",
    "active": True,
    "segments": ["vip", "frequent-visitor"],
    "traits": {"age": 34, "score": 7.5, "city": "Paris", "name": "Joanna Smith", "nick": "",
               "tags": [], "pet": None, "ids": [1, 2, 3], "extra": {}},
    "stats": {"visits": 12, "session_time": 1200},
    "metadata": {"time": {"insert": "2024-01-01T00:00:00Z", "visit": {
        "last": "2024-05-01T11:50:00Z", "current": "2024-05-01T11:59:00+00:00"}}},
}

CASES = [
    ("profile@traits.age == 34", True),
    ("profile@traits.age == 34.0", True),
    ("profile@traits.age != 34", False),
    ("profile@traits.city != 'Rome'", True),
    ("profile@traits.age < 35", True),
    ("profile@traits.age <= 34", True),
    ("profile@traits.age > 34", False),
    ("profile@traits.age >= 34", True),
    ("profile@traits.score > 7.25", True),
    ("profile@traits.city < \"Rome\"", True),
    ("profile@traits.city > 10", False),  # a string and a number do not order
    ("profile@active == TRUE", True),
    ("profile@active == 1", False),  # a boolean is never a number
    ("profile@active == true", True),  # keywords are case-insensitive
    ("profile@traits.age BETWEEN 30 AND 40", True),
    ("profile@traits.age between 35 and 40", False),
    ("profile@traits.pet IS NULL", True),
    ("profile@traits.missing IS NULL", True),
    ("profile@traits.age IS NOT NULL", True),
    ("profile@traits.age EXISTS", True),
    ("profile@traits.pet EXISTS", False),
    ("profile@traits.missing NOT EXISTS", True),
    ("profile@traits.nick EMPTY", True),
    ("profile@traits.tags EMPTY", True),
    ("profile@traits.extra EMPTY", True),
    ("profile@traits.missing EMPTY", True),
    ("profile@traits.city NOT EMPTY", True),
    ("profile@segments CONTAINS \"vip\"", True),
    ("profile@segments CONTAINS \"gold\"", False),
    ("profile@traits.ids CONTAINS 2", True),
    ("profile@traits.name CONTAINS \"anna\"", True),
    ("profile@traits.name STARTS WITH \"Jo\"", True),
    ("profile@traits.name ENDS WITH \"Smith\"", True),
    ("profile@traits.name ENDS WITH \"smith\"", False),
    ("lowercase(profile@traits.name) ENDS WITH \"smith\"", True),
    ("lowercase(profile@traits.city) == \"paris\"", True),
    ("profile@traits.ids == [1, 2, 3]", True),
    ("profile@traits.ids == [1, 2]", False),
    ("profile@stats.session_time >= 20m", True),  # a duration is a number of seconds
    ("profile@stats.session_time > 1h", False),
    ("profile@metadata.time.visit.last > now.offset(\"-15m\")", True),
    ("profile@metadata.time.visit.last > now.offset(\"-5m\")", False),
    ("profile@metadata.time.visit.last < now()", True),
    ("datetime(profile@metadata.time.insert) < datetime(\"2024-02-01\")", True),
    ("datetime.offset(profile@metadata.time.insert, \"200d\") > now()", True),
    ("profile@metadata.time.visit.current BETWEEN now.offset(\"-1h\") AND now()", True),
    ("profile@traits.city == now()", False),  # 'Paris' is not a time
    ("profile@traits.missing == NULL", False),  # a missing field makes comparisons false
    ("profile@traits.missing != 1", False),
    ("profile@traits.pet == NULL", True),
    ("profile@traits.age > 30 AND profile@traits.city == \"Paris\" AND profile@active == TRUE",
     True),
    ("profile@traits.age > 40 OR profile@traits.city == \"Paris\"", True),
    ("(profile@traits.age > 40 OR profile@traits.city == \"Rome\") AND profile@active == TRUE",
     False),
    ("profile@traits.age > 40 OR (profile@traits.city == \"Paris\" AND profile@stats.visits > 10)",
     True),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_condition_examples(text: str, expected: bool) -> None:
    assert evaluate(parse(text), {"profile": PROFILE}, NOW) is expected


def test_event_and_session_sources() -> None:
    record = {"event": {"type": "page-view", "properties": {"url": "/a"}},
              "session": {"metadata": {"status": "active"}}}
    cond = parse("event@type == \"page-view\" AND session@metadata.status == \"active\"")
    assert evaluate(cond, record, NOW)


ERRORS = [
    ("profile@a == 1 AND profile@b == 2 OR profile@c == 3", 35, "AND and OR may not be mixed"),
    ("profile@a == 1 OR profile@b == 2 AND profile@c == 3", 34, "AND and OR may not be mixed"),
    ("profile@a ==", 13, "ends too early"),
    ("payload@a == 1", 1, "unknown source 'payload@'"),
    ("profile@a == 1 AND memory@x EXISTS", 20, "unknown source 'memory@'"),
    ("profile@a === 1", 13, "unexpected character"),
    ("profile@a == \"x", 14, "unexpected character"),
    ("profile@a BETWEEN 1", 20, "ends too early"),
    ("upper(profile@a) == \"A\"", 1, "unknown function 'upper'"),
    ("now(1) == 1", 1, "now() takes 0 argument(s)"),
    ("profile@a > now.offset(\"soon\")", 13, "needs an offset"),
    ("profile@a > datetime(\"yesterday\")", 13, "needs an ISO 8601 time"),
    ("profile@a == 1 profile@b == 2", 16, "unexpected"),
    ("   ", 1, "empty"),
    ("profile@a > 1e999999", 13, "out of range"),
    ("profile@a == \"x\\u0000\"", 14, "NUL"),
]


@pytest.mark.parametrize(("text", "column", "words"), ERRORS)
def test_errors_name_the_column(text: str, column: int, words: str) -> None:
    with pytest.raises(ConditionError) as info:
        parse(text)
    assert info.value.column == column
    assert words in info.value.message
    assert info.value.pointer().splitlines()[1] == " " * (column - 1) + "^"


def test_sources_can_be_restricted() -> None:
    with pytest.raises(ConditionError, match="use profile@"):
        parse("event@type == 'x'", sources=("profile",))


def test_parentheses_allow_mixing() -> None:
    cond = parse("(profile@a == 1 AND profile@b == 2) OR profile@c == 3")
    assert evaluate(cond, {"profile": {"c": 3}}, NOW)
    assert not evaluate(cond, {"profile": {"a": 1}}, NOW)


@pytest.mark.parametrize(("text", "seconds"), [("-15m", -900), ("1d", 86400), ("+2h", 7200),
                                               ("1w", 604800), ("10s", 10)])
def test_offsets(text: str, seconds: int) -> None:
    assert parse_offset(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["2024-02-30", "2024-01-01T24:00", "0999-01-01", "2024-1-1",
                                  "2024-01-01\n", "2024-01-01T10:00:00.1234567",
                                  "2024-01-01T10:00+15:00", "2024-01-01+05"])
def test_times_refused(text: str) -> None:
    assert parse_time(text) is None


def test_naive_times_are_utc() -> None:
    assert parse_time("2024-01-01 10:00") == datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert parse_time("2024-01-01T10:00:00+02:00") == datetime(2024, 1, 1, 8, tzinfo=UTC)
    # PostgreSQL's own text form of a timestamptz
    assert parse_time("2024-01-01 10:00:00.5+00") == datetime(2024, 1, 1, 10, 0, 0, 500000,
                                                              tzinfo=UTC)
    assert parse_time("2024-01-01T10:00+0130") == datetime(2024, 1, 1, 8, 30, tzinfo=UTC)
