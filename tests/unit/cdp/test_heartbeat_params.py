"""The heartbeat's settings: refused at job creation (and by the one-shot run), naming the
variable and what is allowed; the config.toml examples are valid once uncommented."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from services.cdp.heartbeat.params import HeartbeatParams
from supervisor.families import discover
from supervisor.jobtypes import JobInputError
from supervisor.schedule.service import ScheduleService, spec_from_mapping

OK = {"qualify_by": "inactive-session", "range": "now-1h|now", "skip_seconds": 900,
      "event_type": "session-inactive"}


def refused(data: dict[str, Any]) -> str:
    with pytest.raises(JobInputError) as info:
        discover().registry.parse("heartbeat", data)
    return str(info.value)


@pytest.mark.parametrize(("change", "words"), [
    ({"qualify_by": "idle"}, ["QUALIFY_BY='idle' is not a heartbeat mode",
                              "inactive-session, session-not-closed, not-closed-session, "
                              "visit-end, inactive-profile, profile-segmentation, has-event"]),
    ({"qualify_by": None}, ["QUALIFY_BY is required; allowed values: inactive-session"]),
    ({"range": "now-1h"}, ["RANGE='now-1h'", "at position 6", "e.g. 'now-1h|now'"]),
    ({"range": "now-1x|now"}, ["RANGE='now-1x|now'", "expected a unit (y M w d h H m s) at "
                               "position 5"]),
    ({"skip_seconds": "soon"}, ["SKIP_SECONDS='soon' must be a whole number of seconds"]),
    ({"skip_seconds": -5}, ["SKIP_SECONDS=-5 must be a whole number"]),
    ({"skip_seconds": None}, ["SKIP_SECONDS is required with QUALIFY_BY=inactive-session"]),
    ({"event_type": None}, ["EVENT_TYPE is required with QUALIFY_BY=inactive-session",
                            "e.g. session-inactive"]),
    ({"ephemeral": "maybe"}, ["EPHEMERAL='maybe': allowed values are yes or no"]),
    ({"colour": "red"}, ["job_data.colour", "Extra inputs are not permitted"]),
])
def test_bad_job_data_is_refused_at_creation(change: dict[str, Any], words: list[str]) -> None:
    data = {k: v for k, v in {**OK, **change}.items() if v is not None}
    message = refused(data)
    for w in words:
        assert w in message


def test_mode_requirements() -> None:
    assert "NO_EVENTS_WITHIN_LAST is required" in refused(
        {"qualify_by": "profile-segmentation", "range": "now-1M|now"})
    assert "EVENT_TYPE is required with QUALIFY_BY=has-event" in refused(
        {"qualify_by": "has-event", "range": "now-3h|now", "skip_seconds": 7200})
    assert "NO_EVENTS_WITHIN_LAST: expected a number and a unit" in refused(
        {"qualify_by": "profile-segmentation", "range": "now-1M|now",
         "no_events_within_last": "a while"})


def test_defaults_and_spellings() -> None:
    closed = HeartbeatParams.model_validate(
        {"qualify_by": "not-closed-session", "range": "now-1h|now", "skip_seconds": 1800})
    assert (closed.mode, closed.emits) == ("session-not-closed", "session-closed")
    visit = HeartbeatParams.model_validate(
        {"QUALIFY_BY": "visit-end", "RANGE": "now-1h|now", "SKIP_SECONDS": "1800",
         "EPHEMERAL": "yes"})
    assert (visit.emits, visit.open_event_type, visit.ephemeral) == \
        ("visit-ended", "visit-started", True)
    profile = HeartbeatParams.model_validate(
        {"qualify_by": "inactive-profile", "range": "now-1y|now", "skip_seconds": 15548736})
    assert profile.emits == "profile-inactive"


def test_from_env_reads_only_the_heartbeat_variables() -> None:
    env = {"QUALIFY_BY": "inactive-session", "RANGE": "now-1h|now", "SKIP_SECONDS": "900",
           "EVENT_TYPE": "Session Inactive", "ELASTIC_HOST": "http://x:9200", "PATH": "/bin"}
    params = HeartbeatParams.from_env(env)
    assert (params.skip_seconds, params.event_type) == (900, "session-inactive")


def _enabled_examples() -> dict[str, Any]:
    text = (Path(__file__).resolve().parents[3] / "config.toml").read_text()
    start = text.index("# [schedules.session-inactive]")
    end = text.index("# ----", start)
    block = "\n".join(line.removeprefix("# ") for line in text[start:end].splitlines()
                      if line.startswith("# [") or "=" in line)
    return tomllib.loads(block)["schedules"]


def test_config_toml_heartbeat_examples_are_ready_to_enable() -> None:
    tables = _enabled_examples()
    crons = {name: t["cron"] for name, t in tables.items()}
    assert crons == {"session-inactive": "*/8 * * * *", "session-closed": "*/15 * * * *",
                     "visit-end": "*/15 * * * *", "profile-inactive": "13 4 1 * *",
                     "profile-segmentation": "*/30 * * * *"}
    service = ScheduleService(None, discover().registry)  # type: ignore[arg-type]
    for name, table in tables.items():
        spec = spec_from_mapping(name, table)
        service.check(spec.model_dump(exclude={"name"}))
        HeartbeatParams.model_validate(table["data"])
