"""The HTTP faces: segments, triggers, mappings, /events/schedule; the collector's hooks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from supervisor.api.app import create_app
from supervisor.config import Config
from supervisor.store.api_keys import ApiKeyStore
from tests.integration.api_support import standalone
from tests.integration.segments.conftest import add_profiles


@pytest.fixture
async def client(seg_pool: asyncpg.Pool, config: Config) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process app whose families have their resources (and collector hooks) open."""
    key, _ = await ApiKeyStore(seg_pool).create("tests")
    rt = standalone(seg_pool, config)
    async with AsyncExitStack() as stack:
        await rt.families.open_resources(stack, config, seg_pool)
        transport = httpx.ASGITransport(app=create_app(rt))
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test",
                                     headers={"X-API-Key": key}) as c:
            yield c


def _refused(resp: httpx.Response, status: int, field: str, *words: str) -> None:
    assert resp.status_code == status, resp.text
    text = resp.text
    assert field in text and all(w in text for w in words), text


async def test_segment_management(client: httpx.AsyncClient, seg_pool: asyncpg.Pool) -> None:
    resp = await client.post("/segments", json={
        "name": "Frequent visitor", "eventType": ["Page View"],
        "condition": "profile@stats.visits > 10"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["id"] == "frequent-visitor"
    assert resp.json()["eventType"] == ["page-view"]
    assert (await client.get("/segments/frequent-visitor")).json()["enabled"] is True
    assert (await client.post("/segments/frequent-visitor/disable")).json()["enabled"] is False
    assert [s["id"] for s in (await client.get("/segments")).json()["segments"]] == [
        "frequent-visitor"]
    await add_profiles(seg_pool, [{"id": "a", "stats": {"visits": 11}},
                                  {"id": "b", "stats": {"visits": 2}}])
    tested = (await client.post("/segments/test", json={
        "condition": "profile@stats.visits > 10"})).json()
    assert (tested["matched"], tested["profiles"]) == (1, ["a"])
    assert (await client.delete("/segments/frequent-visitor")).status_code == 200
    _refused(await client.get("/segments/frequent-visitor"), 404, "ERR_SEGMENT_NOT_FOUND")


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"name": "x", "condition": "profile@a == 1 AND profile@b == 2 OR profile@c == 3"},
     "condition", ("ERR_INVALID_SEGMENT", "column 35", "mixed")),
    ({"name": "x", "condition": "session@a == 1"}, "condition", ("unknown source",)),
    ({"name": "x"}, "condition", ("condition is required",)),
    ({"name": "x", "type": "workflow", "workflow": "nope"}, "workflow", ("not a job type",)),
    ({"condition": "profile@a EXISTS"}, "name", ("Field required",)),
])
async def test_bad_segments_are_refused(client: httpx.AsyncClient, body: dict[str, Any],
                                        field: str, words: tuple[str, ...]) -> None:
    _refused(await client.post("/segments", json=body), 400, field, *words)


async def test_trigger_rules(client: httpx.AsyncClient) -> None:
    rule = {"name": "Welcome", "segment": {"id": "vip"},
            "action": {"type": "webhook", "url": "http://127.0.0.1:9/hook"}}
    _refused(await client.post("/triggers", json=rule), 400, "segment.id", "not a segment")
    await client.post("/segments", json={"name": "VIP", "condition": "profile@vip == TRUE"})
    ok = await client.post("/triggers", json=rule)
    assert ok.status_code == 200, ok.text
    assert ok.json()["job_type"] == "segment_trigger_webhook"
    bad_job = {**rule, "action": {"type": "job", "job_type": "nope"}}
    _refused(await client.post("/triggers", json=bad_job), 400, "action.job_type")
    bad_url = {**rule, "action": {"type": "webhook", "url": "ftp://x"}}
    _refused(await client.post("/triggers", json=bad_url), 400, "action.webhook.url")


MAPPING = {"name": "Email", "event_type": {"id": "signup"},
           "event_to_profile": [{"event": {"value": "properties.email"}, "op": 0,
                                 "profile": {"value": "traits.email"}}]}


async def test_mappings_and_refusals(client: httpx.AsyncClient) -> None:
    ok = await client.post("/mappings", json=MAPPING)
    assert ok.status_code == 200 and ok.json()["id"] == "email", ok.text
    bad_op = {**MAPPING, "event_to_profile": [{**MAPPING["event_to_profile"][0], "op": 3}]}
    _refused(await client.post("/mappings", json=bad_op), 400, "event_to_profile.0.op",
             "ERR_INVALID_MAPPING")
    outside = {**MAPPING, "event_to_profile": [{**MAPPING["event_to_profile"][0],
                                                "profile": {"value": "metadata.x"}}]}
    _refused(await client.post("/mappings", json=outside), 400, "event_to_profile.0",
             "allowed target")
    bad_cond = {**MAPPING, "config": {"condition": "event@a =="}}
    _refused(await client.post("/mappings", json=bad_cond), 400, "config.condition", "column")


async def test_schedule_event(client: httpx.AsyncClient, seg_pool: asyncpg.Pool) -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    ev = {"type": "reminder", "source": {"id": "web"}, "profile": {"id": "p1"}}
    ok = await client.post("/events/schedule", json={"timestamp": later.timestamp(),
                                                     "event": ev})
    assert ok.status_code == 200, ok.text
    run_after = await seg_pool.fetchval("SELECT run_after FROM jobs WHERE uuid = $1::uuid",
                                        ok.json()["id"])
    assert abs((run_after - later).total_seconds()) < 0.01
    past = await client.post("/events/schedule", json={"timestamp": 1.0, "event": ev})
    assert await seg_pool.fetchval("SELECT run_after FROM jobs WHERE uuid = $1::uuid",
                                   past.json()["id"]) is None  # due: at once
    _refused(await client.post("/events/schedule", json={
        "timestamp": later.timestamp(), "event": {**ev, "type": " "}}), 400, "event.type")
    _refused(await client.post("/events/schedule", json={
        "timestamp": later.timestamp(), "event": {"source": {"id": "w"}}}), 400, "event.type")
    _refused(await client.post("/events/schedule", json={
        "timestamp": (later + timedelta(days=400)).timestamp(), "event": ev}), 400,
        "more than a year ahead")


async def test_collector_maps_then_segments(client: httpx.AsyncClient,
                                            seg_pool: asyncpg.Pool) -> None:
    await client.post("/mappings", json=MAPPING)
    await client.post("/segments", json={"name": "Has email", "eventType": ["signup"],
                                         "condition": "profile@traits.email EXISTS"})
    resp = await client.post("/track", json={
        "source": {"id": "web"}, "profile": {"id": "pp"}, "session": {"id": "ss"},
        "events": [{"type": "signup", "properties": {"email": "a@x.io"}}]})
    assert resp.status_code == 200, resp.text
    doc = await seg_pool.fetchval("SELECT doc FROM cdp_profiles WHERE id = 'pp'")
    assert doc["traits"]["email"] == "a@x.io"
    assert doc["segments"] == ["has-email"]


async def test_nul_characters_are_refused_naming_the_field(client: httpx.AsyncClient) -> None:
    _refused(await client.post("/segments", json={"name": "a\u0000b",
                                                  "condition": "profile@a EXISTS"}),
             400, "name", "NUL")
    _refused(await client.post("/mappings", json={**MAPPING, "tags": ["ok", "x\u0000"]}),
             400, "tags.1", "NUL")
