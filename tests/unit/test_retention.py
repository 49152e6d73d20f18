"""JOB_RETENTION and --older-than: the forms accepted and the words of a refusal."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from supervisor.config import ConfigError, load_config
from supervisor.retention import DEFAULT_RETENTION, parse_duration, parse_retention


def test_the_defaults_are_the_documented_ones() -> None:
    assert parse_retention("") == DEFAULT_RETENTION
    assert DEFAULT_RETENTION["completed"] == timedelta(days=7)
    assert DEFAULT_RETENTION["dead"] == DEFAULT_RETENTION["cancelled"] == timedelta(days=30)


def test_entries_override_one_target_each_and_off_keeps_for_ever() -> None:
    got = parse_retention("completed=12h, dead=off,nodes=2w")
    assert got["completed"] == timedelta(hours=12) and got["dead"] is None
    assert got["nodes"] == timedelta(weeks=2) and got["cancelled"] == timedelta(days=30)


@pytest.mark.parametrize("text", ["7", "7 days", "-1d", "0s", "1e9d", "d"])
def test_bad_durations_say_the_form(text: str) -> None:
    with pytest.raises(ValueError, match=r"90s, 15m|at most"):
        parse_duration(text)


def test_unknown_names_list_the_known_ones() -> None:
    with pytest.raises(ValueError, match="completed, dead, cancelled, schedule_events, nodes"):
        parse_retention("finished=7d")


def test_a_bad_job_retention_stops_the_config_naming_it() -> None:
    with pytest.raises(ConfigError, match="JOB_RETENTION='completed=soon' \\(from env\\)"):
        load_config(env={"JOB_RETENTION": "completed=soon"}, path=Path("/nonexistent/x.toml"))
