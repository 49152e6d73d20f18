"""The collector on a real PostgreSQL: sessions, profiles and the visit lifecycle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.cdp import hooks
from services.cdp.collector import Collected, collect
from services.cdp.model import INTERNAL_SOURCE_ID
from services.cdp.store import CdpStore
from services.cdp.tracker import parse_events, parse_payload

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


async def track(cdp: CdpStore, body: dict[str, Any], now: datetime) -> Collected:
    payload = parse_payload(body)
    good, refused = parse_events(payload.events)
    return await collect(cdp, payload, good, refused, now=now)


def body(*types: str, session: str = "s1", profile: str = "p1") -> dict[str, Any]:
    return {"source": {"id": "web"}, "session": {"id": session}, "profile": {"id": profile},
            "events": [{"type": t, "properties": {"n": i}} for i, t in enumerate(types)]}


async def test_first_payload_adds_profile_created_session_opened_visit_started(
        cdp: CdpStore) -> None:
    got = await track(cdp, body("Page View"), T0)
    assert [(e.type, e.insert_time, e.source_id) for e in got.events] == [
        ("profile-created", T0 - timedelta(seconds=3), INTERNAL_SOURCE_ID),
        ("session-opened", T0 - timedelta(seconds=2), INTERNAL_SOURCE_ID),
        ("visit-started", T0 - timedelta(seconds=1), INTERNAL_SOURCE_ID),
        ("page-view", T0, "web"),
    ]
    assert got.events[2].properties == {"trigger-event-types": ["page-view"]}
    session = await cdp.session("s1")
    assert session is not None and session["status"] == "active"
    assert session["doc"]["metadata"]["status"] == "active"
    profile = await cdp.profile("p1")
    assert profile is not None and profile["visit_count"] == 1
    assert profile["doc"]["metadata"]["time"]["visit"]["current"] == T0.isoformat()
    stored = await cdp.session_events("s1")
    assert [r["type"] for r in stored] == ["profile-created", "session-opened", "visit-started",
                                           "page-view"]
    doc = stored[3]["doc"]
    assert doc["metadata"]["time"]["insert"] == T0.isoformat()
    assert (doc["source"]["id"], doc["session"]["id"], doc["profile"]["id"]) == \
        ("web", "s1", "p1")
    assert doc["properties"] == {"n": 0} and doc["metadata"]["status"] == "collected"


async def test_visit_ended_ends_the_session_and_the_next_event_starts_a_visit(
        cdp: CdpStore) -> None:
    await track(cdp, body("page-view"), T0)
    ended = await track(cdp, body("visit-ended"), T0 + timedelta(minutes=1))
    assert [e.type for e in ended.events] == ["visit-ended"]  # no system events with it
    assert ended.session_status == "ended"
    again = await track(cdp, body("page-view"), T0 + timedelta(minutes=5))
    assert [e.type for e in again.events] == ["visit-started", "page-view"]
    assert again.session_status == "active"
    profile = await cdp.profile("p1")
    assert profile is not None and profile["visit_count"] == 1  # same session, same visit count


async def test_a_second_session_counts_a_visit(cdp: CdpStore) -> None:
    await track(cdp, body("page-view", session="s1"), T0)
    got = await track(cdp, body("page-view", session="s2"), T0 + timedelta(hours=1))
    assert [e.type for e in got.events] == ["session-opened", "visit-started", "page-view"]
    profile = await cdp.profile("p1")
    assert profile is not None and profile["visit_count"] == 2
    visit = profile["doc"]["metadata"]["time"]["visit"]
    assert visit["last"] == T0.isoformat()
    assert visit["current"] == (T0 + timedelta(hours=1)).isoformat()


async def test_one_bad_event_of_a_hundred_loses_none_of_the_others(cdp: CdpStore) -> None:
    payload = body(*["click"] * 100)
    payload["events"][37] = {"type": "   ", "properties": {}}
    got = await track(cdp, payload, T0)
    assert got.refused == [{"index": 37, "field": "events[37].type",
                            "error": "Value error, an event type is required, e.g. 'page-view' "
                                     "(got '   ')"}]
    assert sum(1 for e in got.events if e.type == "click") == 99
    assert len(await cdp.session_events("s1")) == 99 + 3


async def test_ephemeral_events_are_processed_not_stored(cdp: CdpStore) -> None:
    payload = body("page-view")
    payload["events"].append({"type": "visit-ended", "options": {"saveEvent": False}})
    got = await track(cdp, payload, T0)
    assert [e.type for e in got.ephemeral] == ["visit-ended"]
    assert got.session_status == "ended"
    assert [r["type"] for r in await cdp.session_events("s1")] == ["page-view"]


async def test_events_land_in_their_month_partitions(cdp: CdpStore) -> None:
    await track(cdp, body("a"), datetime(2026, 1, 31, 23, 59, 59, tzinfo=UTC))
    await track(cdp, body("b"), datetime(2026, 2, 1, 0, 0, 1, tzinfo=UTC))
    async with cdp.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT tableoid::regclass::text AS part, type FROM cdp_events ORDER BY insert_time")
    assert [(r["part"], r["type"]) for r in rows] == [
        ("cdp_events_2026_01", "profile-created"), ("cdp_events_2026_01", "session-opened"),
        ("cdp_events_2026_01", "visit-started"), ("cdp_events_2026_01", "a"),
        ("cdp_events_2026_02", "b")]


async def test_hooks_see_each_stored_batch_and_a_failing_hook_is_reported(
        cdp: CdpStore) -> None:
    seen: list[list[str]] = []

    async def record(c: Collected) -> None:
        seen.append([e.type for e in c.events])

    async def broken(c: Collected) -> None:
        raise RuntimeError("mapping down")

    hooks.register_post_event_hook(record)
    hooks.register_post_event_hook(broken)
    try:
        got = await track(cdp, body("purchase"), T0)
    finally:
        hooks.unregister_post_event_hook(record)
        hooks.unregister_post_event_hook(broken)
    assert seen == [["profile-created", "session-opened", "visit-started", "purchase"]]
    assert len(got.hook_failures) == 1 and "RuntimeError: mapping down" in got.hook_failures[0]


async def test_writers_meeting_a_new_month_at_once_all_succeed(cdp: CdpStore) -> None:
    import asyncio

    first = datetime(2027, 5, 1, tzinfo=UTC)
    stores = [CdpStore(cdp.pool) for _ in range(8)]
    await asyncio.gather(*(s.ensure_partitions([first]) for s in stores))
    async with cdp.pool.acquire() as conn:
        assert await conn.fetchval("SELECT to_regclass('cdp_events_2027_05') IS NOT NULL")


async def test_concurrent_payloads_reopen_an_ended_visit_once(cdp: CdpStore) -> None:
    import asyncio

    await track(cdp, body("page-view"), T0)
    await track(cdp, body("visit-ended"), T0 + timedelta(minutes=1))
    later = [T0 + timedelta(minutes=5, microseconds=i) for i in range(6)]
    results = await asyncio.gather(*(track(cdp, body("click"), at) for at in later))
    assert sum(1 for r in results for e in r.events if e.type == "visit-started") == 1
    stored = [r["type"] for r in await cdp.session_events("s1")]
    assert stored.count("visit-started") == 2  # the first visit's and the reopened one's
