"""Unit tests for the pure cron engine (supervisor.schedule.cron)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from supervisor.schedule.cron import (
    CronError,
    CronSchedule,
    ExplainedFire,
    TimeZoneError,
    explain,
    parse_timezone,
)

WARSAW = "Europe/Warsaw"
NEW_YORK = "America/New_York"


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    """Build an aware UTC datetime."""
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


def local_times(fires: list[datetime], zone: str) -> list[str]:
    """Render UTC fire times as local 'HH:MM TZ' strings for readable assertions."""
    return [f"{fire.astimezone(ZoneInfo(zone)):%H:%M %Z}" for fire in fires]


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "field", "raw"),
    [
        ("60 * * * *", "minute", "60"),
        ("-1 * * * *", "minute", "-1"),
        ("*/0 * * * *", "minute", "*/0"),
        ("5-1 * * * *", "minute", "5-1"),
        ("1,,2 * * * *", "minute", "1,,2"),
        ("a * * * *", "minute", "A"),
        ("* 24 * * *", "hour", "24"),
        ("* 1-24 * * *", "hour", "1-24"),
        ("* */x * * *", "hour", "*/X"),
        ("* * 0 * *", "day-of-month", "0"),
        ("* * 32 * *", "day-of-month", "32"),
        ("* * L/2 * *", "day-of-month", "L/2"),
        ("* * * 0 *", "month", "0"),
        ("* * * 13 *", "month", "13"),
        ("* * * FOO *", "month", "FOO"),
        ("* * * MON *", "month", "MON"),
        ("* * * * 8", "day-of-week", "8"),
        ("* * * * FUN", "day-of-week", "FUN"),
        ("* * * * MON#6", "day-of-week", "MON#6"),
        ("* * * * FRIL", "day-of-week", "FRIL"),
        ("* * * * JAN", "day-of-week", "JAN"),
    ],
)
def test_invalid_field_names_the_field(expr: str, field: str, raw: str) -> None:
    with pytest.raises(CronError) as caught:
        CronSchedule.parse(expr)
    assert str(caught.value).startswith(f"{field} field '{raw}' is invalid: {field} accepts ")


def test_invalid_hour_message_is_exact() -> None:
    with pytest.raises(CronError) as caught:
        CronSchedule.parse("0 25 * * *")
    assert str(caught.value) == (
        "hour field '25' is invalid: hour accepts 0-23, lists (1,2), ranges (1-5) and steps (*/2)"
    )


def test_invalid_month_message_lists_names() -> None:
    with pytest.raises(CronError, match=r"month accepts 1-12 or JAN-DEC"):
        CronSchedule.parse("0 0 1 JANUARY *")


@pytest.mark.parametrize(("expr", "count"), [("", 0), ("* * * *", 4), ("0 * * * * *", 6)])
def test_wrong_field_count(expr: str, count: int) -> None:
    with pytest.raises(CronError) as caught:
        CronSchedule.parse(expr)
    assert str(caught.value) == (
        f"expected 5 fields (minute hour day-of-month month day-of-week), got {count}"
    )


def test_errors_are_value_errors() -> None:
    assert issubclass(CronError, ValueError)
    assert issubclass(TimeZoneError, ValueError)


@pytest.mark.parametrize(
    ("expr", "normalised"),
    [
        ("  0   9 * *   mon-fri ", "0 9 * * MON-FRI"),
        ("*/15 0-6,22,23 1-31/2 jan,jul *", "*/15 0-6,22,23 1-31/2 JAN,JUL *"),
        ("5/15 * L * *", "5/15 * L * *"),
        ("0 0 LW * *", "0 0 LW * *"),
        ("0 0 * * 5L", "0 0 * * 5L"),
        ("0 0 * * MON#2", "0 0 * * MON#2"),
        ("0 0 * * 7", "0 0 * * 7"),
    ],
)
def test_valid_syntax_is_normalised(expr: str, normalised: str) -> None:
    assert CronSchedule.parse(expr).expr == normalised


@pytest.mark.parametrize(
    ("alias", "expr"),
    [
        ("@hourly", "0 * * * *"),
        ("@daily", "0 0 * * *"),
        ("@midnight", "0 0 * * *"),
        ("@weekly", "0 0 * * 0"),
        ("@monthly", "0 0 1 * *"),
        ("@yearly", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        (" @DAILY ", "0 0 * * *"),
    ],
)
def test_aliases_map_to_five_fields(alias: str, expr: str) -> None:
    assert CronSchedule.parse(alias).expr == expr


def test_unknown_alias() -> None:
    with pytest.raises(CronError, match=r"unknown cron alias '@reboot': expected one of @hourly"):
        CronSchedule.parse("@reboot")


def test_aliases_fire_where_expected() -> None:
    start = utc(2025, 1, 15, 10, 20)
    assert CronSchedule.parse("@hourly").next_after(start) == utc(2025, 1, 15, 11, 0)
    assert CronSchedule.parse("@daily").next_after(start) == utc(2025, 1, 16, 0, 0)
    assert CronSchedule.parse("@weekly").next_after(start) == utc(2025, 1, 19, 0, 0)  # Sunday
    assert CronSchedule.parse("@monthly").next_after(start) == utc(2025, 2, 1, 0, 0)
    assert CronSchedule.parse("@yearly").next_after(start) == utc(2026, 1, 1, 0, 0)


def test_direct_construction_is_validated_and_equal_to_parse() -> None:
    direct = CronSchedule("@daily", ZoneInfo("UTC"))
    assert direct == CronSchedule.parse("0 0 * * *", "UTC")
    with pytest.raises(CronError, match="minute field"):
        CronSchedule("99 * * * *", ZoneInfo("UTC"))


@pytest.mark.parametrize("expr", ["0 0 31 2 *", "0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 30,31 2 *"])
def test_impossible_expression_never_fires(expr: str) -> None:
    with pytest.raises(CronError) as caught:
        CronSchedule.parse(expr)
    message = str(caught.value)
    assert "day-of-month" in message
    assert "month" in message
    assert message.endswith("never fires")


def test_day_of_month_or_day_of_week_is_possible() -> None:
    # With both day fields restricted cron ORs them, so Feb 31 OR Mondays fires on Mondays.
    schedule = CronSchedule.parse("0 0 31 2 MON")
    assert schedule.next_after(utc(2025, 1, 1)) == utc(2025, 2, 3)


def test_leap_day() -> None:
    assert CronSchedule.parse("0 0 29 2 *").next_after(utc(2025, 1, 1)) == utc(2028, 2, 29)


# --- time zones ---------------------------------------------------------------------------


def test_parse_timezone_known() -> None:
    assert parse_timezone(WARSAW) == ZoneInfo(WARSAW)


@pytest.mark.parametrize("name", ["Mars/Olympus", "europe/warsaw", "Europe", "", "../etc", "/etc"])
def test_unknown_timezone(name: str) -> None:
    with pytest.raises(TimeZoneError) as caught:
        parse_timezone(name)
    message = str(caught.value)
    assert repr(name) in message
    assert "Europe/Warsaw" in message
    assert "UTC" in message


def test_schedule_with_unknown_timezone() -> None:
    with pytest.raises(TimeZoneError, match="Mars/Olympus"):
        CronSchedule.parse("0 0 * * *", "Mars/Olympus")


def test_naive_datetimes_rejected() -> None:
    schedule = CronSchedule.parse("* * * * *")
    naive = datetime(2025, 1, 1, 12, 0)
    with pytest.raises(ValueError, match="after must be a timezone-aware datetime"):
        schedule.next_after(naive)
    with pytest.raises(ValueError, match="after must be"):
        schedule.fires_between(naive, utc(2025, 1, 2), 5)
    with pytest.raises(ValueError, match="until must be"):
        schedule.fires_between(utc(2025, 1, 1), naive, 5)
    with pytest.raises(ValueError, match="start must be"):
        explain(schedule, naive, 1)


# --- basic evaluation ---------------------------------------------------------------------


def test_every_minute() -> None:
    schedule = CronSchedule.parse("* * * * *")
    assert schedule.next_after(utc(2025, 1, 1, 12, 0)) == utc(2025, 1, 1, 12, 1)
    assert schedule.next_after(utc(2025, 1, 1, 12, 0, 30)) == utc(2025, 1, 1, 12, 1)
    assert schedule.next_after(utc(2025, 1, 1, 12, 0, 59, 999999)) == utc(2025, 1, 1, 12, 1)
    assert schedule.next_after(utc(2025, 12, 31, 23, 59)) == utc(2026, 1, 1, 0, 0)


def test_result_is_aware_utc_and_input_zone_does_not_matter() -> None:
    schedule = CronSchedule.parse("0 12 * * *")
    tokyo_start = datetime(2025, 6, 1, 22, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # 13:00 UTC
    result = schedule.next_after(tokyo_start)
    assert result == utc(2025, 6, 2, 12, 0)
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    ("zone", "start", "expected"),
    [
        (WARSAW, utc(2025, 1, 15), utc(2025, 1, 15, 8, 0)),  # CET, UTC+1
        (WARSAW, utc(2025, 7, 15), utc(2025, 7, 15, 7, 0)),  # CEST, UTC+2
        (NEW_YORK, utc(2025, 1, 15), utc(2025, 1, 15, 14, 0)),  # EST, UTC-5
        (NEW_YORK, utc(2025, 7, 15), utc(2025, 7, 15, 13, 0)),  # EDT, UTC-4
        ("Asia/Kolkata", utc(2025, 1, 15), utc(2025, 1, 15, 3, 30)),  # UTC+5:30
        ("UTC", utc(2025, 1, 15), utc(2025, 1, 15, 9, 0)),
    ],
)
def test_time_zone_conversion(zone: str, start: datetime, expected: datetime) -> None:
    assert CronSchedule.parse("0 9 * * *", zone).next_after(start) == expected


def test_local_midnight_is_previous_utc_day_east_of_greenwich() -> None:
    schedule = CronSchedule.parse("0 0 * * MON", WARSAW)
    assert schedule.next_after(utc(2025, 1, 1)) == utc(2025, 1, 5, 23, 0)


# --- fires_between ------------------------------------------------------------------------


def test_fires_between_bounds_and_limit() -> None:
    schedule = CronSchedule.parse("*/10 * * * *")
    after, until = utc(2025, 1, 1, 12, 0), utc(2025, 1, 1, 12, 40)
    # `after` is exclusive and `until` inclusive.
    assert schedule.fires_between(after, until, 100) == [
        utc(2025, 1, 1, 12, 10),
        utc(2025, 1, 1, 12, 20),
        utc(2025, 1, 1, 12, 30),
        utc(2025, 1, 1, 12, 40),
    ]
    assert schedule.fires_between(after, until, 2) == [
        utc(2025, 1, 1, 12, 10),
        utc(2025, 1, 1, 12, 20),
    ]
    assert schedule.fires_between(after, until, 0) == []
    assert schedule.fires_between(until, after, 10) == []
    assert schedule.fires_between(after, after, 10) == []


def test_fires_between_negative_limit() -> None:
    with pytest.raises(ValueError, match="limit must be >= 0"):
        CronSchedule.parse("* * * * *").fires_between(utc(2025, 1, 1), utc(2025, 1, 2), -1)


def test_fires_between_sparse_schedule() -> None:
    schedule = CronSchedule.parse("0 0 1 */6 *")
    assert schedule.fires_between(utc(2025, 1, 1), utc(2026, 12, 31), 10) == [
        utc(2025, 7, 1),
        utc(2026, 1, 1),
        utc(2026, 7, 1),
    ]


# --- DST: Europe/Warsaw -------------------------------------------------------------------
# Spring forward: 2025-03-30 02:00 CET -> 03:00 CEST (01:00 UTC).
# Fall back:      2025-10-26 03:00 CEST -> 02:00 CET (01:00 UTC).


def test_warsaw_spring_fixed_hour_fires_once_after_gap() -> None:
    schedule = CronSchedule.parse("30 2 * * *", WARSAW)
    fires = schedule.fires_between(utc(2025, 3, 28, 12), utc(2025, 4, 1), 10)
    assert fires == [
        utc(2025, 3, 29, 1, 30),  # 02:30 CET
        utc(2025, 3, 30, 1, 0),  # 02:30 does not exist: 03:00 CEST
        utc(2025, 3, 31, 0, 30),  # 02:30 CEST
    ]


def test_warsaw_spring_gap_times_collapse_into_one_fire() -> None:
    schedule = CronSchedule.parse("20,40 2 * * *", WARSAW)
    fires = schedule.fires_between(utc(2025, 3, 29, 12), utc(2025, 3, 31, 12), 10)
    assert fires == [
        utc(2025, 3, 30, 1, 0),  # 02:20 and 02:40 do not exist: one fire at 03:00 CEST
        utc(2025, 3, 31, 0, 20),
        utc(2025, 3, 31, 0, 40),
    ]


def test_warsaw_spring_minute_step_follows_the_real_clock() -> None:
    # A minute step makes the schedule follow real time (Debian cron, cronsim): the 02:xx
    # times the clock skips are skipped, not moved.
    schedule = CronSchedule.parse("*/20 2 * * *", WARSAW)
    fires = schedule.fires_between(utc(2025, 3, 29, 12), utc(2025, 3, 31, 12), 10)
    assert fires == [utc(2025, 3, 31, 0, 0), utc(2025, 3, 31, 0, 20), utc(2025, 3, 31, 0, 40)]


def test_warsaw_spring_wildcard_hour_follows_real_clock() -> None:
    schedule = CronSchedule.parse("*/30 * * * *", WARSAW)
    fires = schedule.fires_between(utc(2025, 3, 30, 0, 0), utc(2025, 3, 30, 2, 0), 10)
    assert fires == [
        utc(2025, 3, 30, 0, 30),
        utc(2025, 3, 30, 1, 0),
        utc(2025, 3, 30, 1, 30),
        utc(2025, 3, 30, 2, 0),
    ]
    assert local_times(fires, WARSAW) == ["01:30 CET", "03:00 CEST", "03:30 CEST", "04:00 CEST"]


def test_warsaw_spring_hourly_gets_no_extra_fire() -> None:
    schedule = CronSchedule.parse("30 * * * *", WARSAW)
    fires = schedule.fires_between(utc(2025, 3, 30, 0, 0), utc(2025, 3, 30, 2, 0), 10)
    assert fires == [utc(2025, 3, 30, 0, 30), utc(2025, 3, 30, 1, 30)]
    assert local_times(fires, WARSAW) == ["01:30 CET", "03:30 CEST"]


def test_warsaw_fall_fixed_hour_fires_once_at_first_occurrence() -> None:
    schedule = CronSchedule.parse("30 2 * * *", WARSAW)
    fires = schedule.fires_between(utc(2025, 10, 25, 12), utc(2025, 10, 28), 10)
    assert fires == [
        utc(2025, 10, 26, 0, 30),  # 02:30 CEST; the 02:30 CET repeat is skipped
        utc(2025, 10, 27, 1, 30),  # 02:30 CET
    ]


def test_warsaw_fall_fixed_hour_with_minute_step_fires_both_passes() -> None:
    schedule = CronSchedule.parse("*/30 2 * * *", WARSAW)
    fires = schedule.fires_between(utc(2025, 10, 25, 12), utc(2025, 10, 27, 12), 10)
    assert local_times(fires, WARSAW) == [
        "02:00 CEST", "02:30 CEST", "02:00 CET", "02:30 CET", "02:00 CET", "02:30 CET"]
    assert fires[:4] == [utc(2025, 10, 26, 0, 0) + timedelta(minutes=30 * i) for i in range(4)]


def test_warsaw_fall_wildcard_hour_fires_both_passes() -> None:
    schedule = CronSchedule.parse("*/30 * * * *", WARSAW)
    fires = schedule.fires_between(utc(2025, 10, 25, 23, 0), utc(2025, 10, 26, 2, 0), 10)
    assert fires == [utc(2025, 10, 25, 23, 30) + timedelta(minutes=30 * i) for i in range(6)]
    assert local_times(fires, WARSAW) == [
        "01:30 CEST",
        "02:00 CEST",
        "02:30 CEST",
        "02:00 CET",
        "02:30 CET",
        "03:00 CET",
    ]


def test_warsaw_fall_next_after_from_inside_the_overlap() -> None:
    every_half_hour = CronSchedule.parse("*/30 * * * *", WARSAW)
    # From 02:30 CEST (first pass) the next fire is 02:00 CET (second pass).
    assert every_half_hour.next_after(utc(2025, 10, 26, 0, 30)) == utc(2025, 10, 26, 1, 0)
    # From 02:15 CET (second pass) the next fire is 02:30 CET.
    assert every_half_hour.next_after(utc(2025, 10, 26, 1, 15)) == utc(2025, 10, 26, 1, 30)
    hourly = CronSchedule.parse("@hourly", WARSAW)
    # From 02:30 CEST the next hour boundary is 02:00 CET, an earlier-looking wall time.
    assert hourly.next_after(utc(2025, 10, 26, 0, 30)) == utc(2025, 10, 26, 1, 0)
    daily = CronSchedule.parse("30 2 * * *", WARSAW)
    # From 02:15 CET (second pass) the fixed 02:30 already fired in the first pass.
    assert daily.next_after(utc(2025, 10, 26, 1, 15)) == utc(2025, 10, 27, 1, 30)


@pytest.mark.parametrize("start", [utc(2025, 3, 29, 12), utc(2025, 10, 25, 12)])
def test_every_15_minutes_is_real_time_across_transitions(start: datetime) -> None:
    schedule = CronSchedule.parse("*/15 * * * *", WARSAW)
    fires = schedule.fires_between(start, start + timedelta(days=1), 200)
    assert len(fires) == 96
    assert fires[0] == start + timedelta(minutes=15)
    assert all(b - a == timedelta(minutes=15) for a, b in pairwise(fires))


# --- DST: America/New_York ----------------------------------------------------------------
# Spring forward: 2025-03-09 02:00 EST -> 03:00 EDT (07:00 UTC).
# Fall back:      2025-11-02 02:00 EDT -> 01:00 EST (06:00 UTC).


def test_new_york_spring_fixed_hour() -> None:
    schedule = CronSchedule.parse("30 2 * * *", NEW_YORK)
    fires = schedule.fires_between(utc(2025, 3, 8, 12), utc(2025, 3, 10, 12), 10)
    assert fires == [utc(2025, 3, 9, 7, 0), utc(2025, 3, 10, 6, 30)]
    assert local_times(fires, NEW_YORK) == ["03:00 EDT", "02:30 EDT"]


def test_new_york_fall_fixed_hour() -> None:
    schedule = CronSchedule.parse("30 1 * * *", NEW_YORK)
    fires = schedule.fires_between(utc(2025, 11, 1, 12), utc(2025, 11, 3, 12), 10)
    assert fires == [utc(2025, 11, 2, 5, 30), utc(2025, 11, 3, 6, 30)]
    assert local_times(fires, NEW_YORK) == ["01:30 EDT", "01:30 EST"]


def test_new_york_wildcard_hour_both_transitions() -> None:
    schedule = CronSchedule.parse("*/30 * * * *", NEW_YORK)
    spring = schedule.fires_between(utc(2025, 3, 9, 6, 15), utc(2025, 3, 9, 8, 0), 10)
    assert local_times(spring, NEW_YORK) == ["01:30 EST", "03:00 EDT", "03:30 EDT", "04:00 EDT"]
    fall = schedule.fires_between(utc(2025, 11, 2, 4, 45), utc(2025, 11, 2, 7, 0), 10)
    assert fall == [utc(2025, 11, 2, 5, 0) + timedelta(minutes=30 * i) for i in range(5)]
    assert local_times(fall, NEW_YORK) == [
        "01:00 EDT",
        "01:30 EDT",
        "01:00 EST",
        "01:30 EST",
        "02:00 EST",
    ]


# --- explain ------------------------------------------------------------------------------


def test_explain_gap_note() -> None:
    schedule = CronSchedule.parse("30 2 * * *", WARSAW)
    first, second = explain(schedule, utc(2025, 3, 29, 12), 2)
    assert first == ExplainedFire(
        utc=utc(2025, 3, 30, 1, 0),
        local=datetime(2025, 3, 30, 3, 0, tzinfo=ZoneInfo(WARSAW)),
        note="local 02:30 does not exist (DST gap); fires at 03:00 CEST",
    )
    assert second.utc == utc(2025, 3, 31, 0, 30)
    assert second.note is None


def test_explain_overlap_once_note() -> None:
    schedule = CronSchedule.parse("30 2 * * *", WARSAW)
    [fire] = explain(schedule, utc(2025, 10, 25, 12), 1)
    assert fire.utc == utc(2025, 10, 26, 0, 30)
    assert f"{fire.local:%Y-%m-%d %H:%M %Z}" == "2025-10-26 02:30 CEST"
    assert fire.note == "local 02:30 occurs twice (DST overlap); fires once, at the first (CEST)"


def test_explain_overlap_both_passes_notes() -> None:
    schedule = CronSchedule.parse("30 * * * *", WARSAW)
    fires = explain(schedule, utc(2025, 10, 25, 23, 0), 4)
    assert [fire.utc for fire in fires] == [
        utc(2025, 10, 25, 23, 30),
        utc(2025, 10, 26, 0, 30),
        utc(2025, 10, 26, 1, 30),
        utc(2025, 10, 26, 2, 30),
    ]
    assert [f"{fire.local:%H:%M %Z}" for fire in fires] == [
        "01:30 CEST",
        "02:30 CEST",
        "02:30 CET",
        "03:30 CET",
    ]
    assert [fire.note for fire in fires] == [
        None,
        "local 02:30 occurs twice (DST overlap); fires at both, this is the first (CEST)",
        "local 02:30 occurs twice (DST overlap); fires at both, this is the second (CET)",
        None,
    ]


def test_explain_plain_and_empty() -> None:
    schedule = CronSchedule.parse("0 9 * * MON-FRI", NEW_YORK)
    fires = explain(schedule, utc(2025, 1, 3, 15), 2)  # Friday 10:00 EST
    assert [fire.utc for fire in fires] == [utc(2025, 1, 6, 14), utc(2025, 1, 7, 14)]
    assert [fire.local for fire in fires] == [
        datetime(2025, 1, 6, 9, tzinfo=ZoneInfo(NEW_YORK)),
        datetime(2025, 1, 7, 9, tzinfo=ZoneInfo(NEW_YORK)),
    ]
    assert all(fire.note is None for fire in fires)
    assert explain(schedule, utc(2025, 1, 3), 0) == []
    with pytest.raises(ValueError, match="count must be >= 0"):
        explain(schedule, utc(2025, 1, 3), -1)


# --- invariants ---------------------------------------------------------------------------


@pytest.mark.parametrize("expr", ["*/7 * * * *", "0 */2 * * *", "30 2 * * *", "*/20 1-3 * * *"])
@pytest.mark.parametrize("zone", [WARSAW, NEW_YORK, "Australia/Lord_Howe", "Antarctica/Troll"])
def test_next_after_strictly_increases_through_a_year(expr: str, zone: str) -> None:
    schedule = CronSchedule.parse(expr, zone)
    cursor = utc(2025, 1, 1)
    for _ in range(500):
        following = schedule.next_after(cursor)
        assert following > cursor
        assert following.tzinfo is UTC
        # Jump ahead by a random-ish stride so the walk covers the whole year.
        cursor = following + timedelta(hours=17, minutes=13)
