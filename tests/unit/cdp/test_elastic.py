"""Elasticsearch: index names, heartbeat request bodies against golden JSON, bucket rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.cdp.datemath import parse_range
from services.cdp.elastic import (
    Indices,
    bulk_outcome,
    derived_id,
    event_operations,
    host_url,
    update_operations,
)
from services.cdp.heartbeat.es import page_body, qualifies
from services.cdp.heartbeat.params import HeartbeatParams
from services.cdp.model import HEARTBEAT_SOURCE_ID, Event

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
GOLDEN = Path(__file__).parent / "golden"
CASES = {
    "inactive-session": {"qualify_by": "inactive-session", "range": "now-1h|now",
                         "skip_seconds": 900, "event_type": "session-inactive"},
    "visit-end": {"qualify_by": "visit-end", "range": "now-1M|now", "skip_seconds": 900},
    "inactive-profile": {"qualify_by": "inactive-profile", "range": "now-1y|now",
                         "skip_seconds": 15548736},
    "profile-segmentation": {"qualify_by": "profile-segmentation", "range": "now-1M|now",
                             "no_events_within_last": "20m"},
    "has-event": {"qualify_by": "has-event", "range": "now-14d|now-5d", "skip_seconds": 7200,
                  "event_type": "heartbeat"},
}


def params(name: str, **more: Any) -> HeartbeatParams:
    return HeartbeatParams.model_validate({**CASES[name], "page_size": 500, **more})


def test_index_names() -> None:
    dev, prod = Indices(False), Indices(True)
    assert (dev.event_write(NOW), dev.event_read, dev.session, dev.profile) == (
        "tracardi-event-2026-3", "tracardi-event-*", "tracardi-session", "tracardi-profile")
    assert (prod.event_write(NOW), prod.event_read, prod.session, prod.profile) == (
        "prod-tracardi-event-2026-3", "prod-tracardi-event-*", "prod-tracardi-session",
        "prod-tracardi-profile")


def test_host_url() -> None:
    assert host_url("10.0.0.5") == "http://10.0.0.5:9200"
    assert host_url("https://user:pw@es.example:9243/") == "https://user:pw@es.example:9243"


@pytest.mark.parametrize("name", sorted(CASES))
def test_page_bodies_match_golden_json(name: str) -> None:
    p = params(name)
    after = {"id": "s-0042"} if name == "inactive-session" else None
    body = page_body(p, parse_range(p.range, NOW), after)
    assert body == json.loads((GOLDEN / f"heartbeat_{name}.json").read_text())


def test_emitted_event_bulk_lines() -> None:
    event_id = derived_id("visit-end:visit-started>visit-ended", "s1", NOW)
    assert event_id == derived_id("visit-end:visit-started>visit-ended", "s1", NOW)
    event = Event(id=event_id, type="visit-ended", insert_time=NOW,
                  source_id=HEARTBEAT_SOURCE_ID, session_id="s1", profile_id="p1")
    ops = event_operations(Indices(True), [event], create=True)
    assert ops[0] == {"create": {"_index": "prod-tracardi-event-2026-3", "_id": event_id}}
    doc = ops[1]
    assert (doc["type"], doc["source"], doc["session"], doc["profile"]) == (
        "visit-ended", {"id": HEARTBEAT_SOURCE_ID}, {"id": "s1"}, {"id": "p1"})
    assert doc["metadata"]["time"]["insert"] == "2026-03-10T12:00:00+00:00"
    ephemeral = Event(id="x", type="visit-ended", insert_time=NOW, source_id=None,
                      session_id="s1", profile_id=None, options={"saveEvent": False})
    assert event_operations(Indices(), [ephemeral]) == []
    assert update_operations("tracardi-session", ["s1"], {"metadata": {"status": "ended"}}) == [
        {"update": {"_index": "tracardi-session", "_id": "s1"}},
        {"doc": {"metadata": {"status": "ended"}}}]


def test_bulk_outcome_counts_conflicts_apart_from_errors() -> None:
    body = {"errors": True, "items": [
        {"create": {"_index": "i", "_id": "a", "status": 201}},
        {"create": {"_index": "i", "_id": "b", "status": 409}},
        {"update": {"_index": "s", "_id": "c", "status": 404,
                    "error": {"type": "document_missing_exception", "reason": "missing"}}},
        {"index": {"_index": "i", "_id": "d", "status": 400,
                   "error": {"type": "mapper_parsing_exception", "reason": "bad"}}}]}
    assert bulk_outcome(body) == (1, 1, ["i/d: 400 mapper_parsing_exception bad"])


def ms(hour: int, minute: int) -> dict[str, Any]:
    return {"at": {"value": datetime(2026, 3, 10, hour, minute, tzinfo=UTC).timestamp() * 1000}}


NONE: dict[str, Any] = {"at": {"value": None}}


@pytest.mark.parametrize(("name", "bucket", "expected"), [
    ("inactive-session", {"last_activity": ms(11, 20), "last_flag": NONE}, True),
    ("inactive-session", {"last_activity": ms(11, 45), "last_flag": NONE}, False),  # at cut
    ("inactive-session", {"last_activity": NONE, "last_flag": NONE}, False),  # heartbeats only
    ("inactive-session", {"last_activity": ms(11, 5), "last_flag": ms(11, 30)}, False),
    ("visit-end", {"last_activity": ms(11, 26), "last_open": ms(11, 25),
                   "last_close": ms(11, 20)}, True),
    ("visit-end", {"last_activity": ms(11, 6), "last_open": ms(11, 5),
                   "last_close": ms(11, 20)}, False),
    ("visit-end", {"last_activity": ms(11, 6), "last_open": NONE, "last_close": NONE}, False),
    ("profile-segmentation", {"last_activity": ms(11, 0)}, True),
    ("profile-segmentation", {"last_activity": ms(11, 50)}, False),
    ("has-event", {"last_activity": ms(10, 0), "last_flag": ms(9, 30)}, True),
    ("has-event", {"last_activity": ms(10, 0), "last_flag": ms(11, 0)}, False),
])
def test_bucket_rules_match_the_sql(name: str, bucket: dict[str, Any], expected: bool) -> None:
    assert qualifies(params(name), bucket, NOW) is expected
