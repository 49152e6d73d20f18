"""supervisor.schedule.cron against cronsim itself: the same fire times, the layer adds no math."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from cronsim import CronSim
from hypothesis import given, settings
from hypothesis import strategies as st

from supervisor.schedule.cron import CronSchedule

EXPRESSIONS = ["*/7 * * * *", "0 */2 * * *", "30 2 * * *", "*/20 1-3 * * *", "0 9 * * MON-FRI",
               "15 3 L * *", "0 0 * * 5L", "0 12 * * MON#2", "45 23 31 * *", "0 0 29 2 *",
               "5,35 1,2,3 * * *", "0 0 LW * *"]
ZONES = ["UTC", "Europe/Warsaw", "America/New_York", "Australia/Lord_Howe", "Antarctica/Troll",
         "Asia/Kolkata"]


def _cronsim_fires(expr: str, zone: str, after: datetime, n: int) -> list[datetime]:
    """cronsim's own answers as UTC, keeping only those later than the last one kept."""
    out: list[datetime] = []
    last = after
    for fire in CronSim(expr, after.astimezone(ZoneInfo(zone))):
        utc = fire.astimezone(UTC)
        if utc > last:
            out.append(utc)
            last = utc
        if len(out) == n:
            break
    return out


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_a_year_of_fires_equals_cronsims(expr: str, zone: str) -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    ours = CronSchedule.parse(expr, zone).fires_between(start, start + timedelta(days=366), 400)
    assert ours == _cronsim_fires(expr, zone, start, len(ours) + 1)[: len(ours)]
    assert ours or expr == "0 0 29 2 *"  # every other one fires within a year


@settings(max_examples=200, deadline=None)
@given(expr=st.sampled_from(EXPRESSIONS), zone=st.sampled_from(ZONES),
       after=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2060, 1, 1),
                          timezones=st.just(UTC)))
def test_next_after_equals_cronsims_first_later_fire(expr: str, zone: str,
                                                     after: datetime) -> None:
    [theirs] = _cronsim_fires(expr, zone, after, 1)
    assert CronSchedule.parse(expr, zone).next_after(after) == theirs
