"""The pure misfire and overlap rules: what a tick fires for one schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from supervisor.schedule.rules import (
    SCAN_LIMIT,
    Plan,
    apply_overlap,
    compile_cron,
    plan_fires,
)

T = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
GRACE = timedelta(seconds=60)
EVERY_MINUTE = compile_cron("* * * * *", "UTC")


def plan(now: datetime, policy: str = "coalesce", limit: int = 100, first: datetime = T,
         cron: str = "* * * * *") -> Plan:
    return plan_fires(compile_cron(cron, "UTC"), first, now, policy=policy, limit=limit,
                      grace=GRACE)


def test_nothing_due_changes_nothing() -> None:
    assert plan(T - timedelta(seconds=1)) == Plan((), T)


@pytest.mark.parametrize("policy", ["coalesce", "fire_all", "skip"])
def test_an_on_time_occurrence_fires_under_every_policy(policy: str) -> None:
    assert plan(T + timedelta(seconds=59), policy) == Plan((T,), T + MIN)


@pytest.mark.parametrize("policy", ["coalesce", "fire_all", "skip"])
def test_several_on_time_occurrences_all_fire(policy: str) -> None:
    # Every 10 minutes' schedule with a 30-minute tick: nothing is late beyond one tick.
    got = plan_fires(EVERY_MINUTE, T, T + 2 * MIN, policy=policy, limit=1,
                     grace=timedelta(minutes=30))
    assert got == Plan((T, T + MIN, T + 2 * MIN), T + 3 * MIN)


def test_coalesce_fires_the_newest_and_counts_the_rest() -> None:
    got = plan(T + 10 * MIN + timedelta(seconds=5))
    assert got == Plan((T + 10 * MIN,), T + 11 * MIN, coalesced=10)


def test_coalesce_when_even_the_newest_is_late() -> None:
    got = plan(T + 10 * MIN + timedelta(seconds=90), cron="*/5 * * * *")
    assert got == Plan((T + 10 * MIN,), T + 15 * MIN, coalesced=2)


def test_fire_all_fires_every_missed_occurrence_within_the_limit() -> None:
    got = plan(T + 3 * MIN + timedelta(seconds=5), "fire_all")
    assert got == Plan((T, T + MIN, T + 2 * MIN, T + 3 * MIN), T + 4 * MIN)


def test_fire_all_keeps_the_newest_beyond_the_limit_and_counts_the_dropped() -> None:
    got = plan(T + 10 * MIN + timedelta(seconds=5), "fire_all", limit=3)
    assert got == Plan((T + 7 * MIN, T + 8 * MIN, T + 9 * MIN, T + 10 * MIN), T + 11 * MIN,
                       missed=7)


def test_skip_fires_only_what_is_on_time() -> None:
    assert plan(T + 10 * MIN + timedelta(seconds=5), "skip") == Plan(
        (T + 10 * MIN,), T + 11 * MIN, missed=10)
    assert plan(T + 10 * MIN + timedelta(seconds=90), "skip", cron="*/5 * * * *") == Plan(
        (), T + 15 * MIN, missed=3)


def test_a_sparse_cron_advances_to_its_next_occurrence() -> None:
    monthly = plan(datetime(2025, 9, 15, tzinfo=UTC), cron="0 0 1 * *",
                   first=datetime(2025, 7, 1, tzinfo=UTC))
    assert monthly == Plan((datetime(2025, 9, 1, tzinfo=UTC),), datetime(2025, 10, 1, tzinfo=UTC),
                           coalesced=2)


@pytest.mark.parametrize(("policy", "fires", "coalesced", "missed"), [
    # Counted: the first SCAN_LIMIT occurrences and the 60 of the last hour; 12:00 is on time.
    ("coalesce", 1, SCAN_LIMIT + 59, 0),
    ("fire_all", 6, 0, SCAN_LIMIT + 54),
    ("skip", 1, 0, SCAN_LIMIT + 59),
])
def test_a_very_long_downtime_is_bounded_and_counted_as_a_lower_bound(
    policy: str, fires: int, coalesced: int, missed: int,
) -> None:
    now = T + timedelta(days=30, seconds=30)
    got = plan(now, policy, limit=5)
    assert len(got.fires) == fires
    assert got.fires[-1] == T + timedelta(days=30)
    assert got.at_least
    assert got.next_run_at == T + timedelta(days=30, minutes=1)
    assert (got.coalesced, got.missed) == (coalesced, missed)


def test_overlap_rules() -> None:
    fires = (T, T + MIN, T + 2 * MIN)
    assert apply_overlap(fires, overlap=True, busy=True) == (fires, 0)
    assert apply_overlap(fires, overlap=False, busy=True) == ((), 3)
    assert apply_overlap(fires, overlap=False, busy=False) == ((T,), 2)
    assert apply_overlap((), overlap=False, busy=True) == ((), 0)


def test_dst_gap_occurrence_is_planned_at_the_end_of_the_gap() -> None:
    warsaw = compile_cron("30 2 * * *", "Europe/Warsaw")
    first = datetime(2025, 3, 30, 1, 0, tzinfo=UTC)  # 02:30 does not exist: 03:00 CEST
    got = plan_fires(warsaw, first, first + timedelta(seconds=5), policy="skip", limit=1,
                     grace=GRACE)
    assert got == Plan((first,), datetime(2025, 3, 31, 0, 30, tzinfo=UTC))


def test_the_commented_config_examples_are_valid_schedules() -> None:
    import re
    import tomllib
    from pathlib import Path

    from supervisor.schedule.service import spec_from_mapping

    text = (Path(__file__).parents[2] / "config.toml").read_text()
    lines = [line[2:] for line in text.splitlines() if re.match(r"# (\[schedules|\w+ = )", line)]
    tables = tomllib.loads("\n".join(lines))["schedules"]
    assert len(tables) == 6  # nightly-noop and the five heartbeat schedules
    for name, table in tables.items():
        spec = spec_from_mapping(name, table)
        compile_cron(spec.cron, spec.timezone)
