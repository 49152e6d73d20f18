"""POST /track over HTTP: authentication, the answer, and refusals that name the field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import asyncpg
import httpx
import pytest

from services.cdp.store import CdpStore
from supervisor.config import Config
from tests.integration.api_support import api_client


@pytest.fixture
async def client(pool: asyncpg.Pool, config: Config, cdp: CdpStore
                 ) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(pool, config) as (http, rt), AsyncExitStack() as stack:
        await rt.families.open_resources(stack, config, pool)
        yield http


def payload(n: int = 1, **more: Any) -> dict[str, Any]:
    return {"source": {"id": "web"}, "session": {"id": "s1"}, "profile": {"id": "p1"},
            "events": [{"type": "Page View", "properties": {"i": i}} for i in range(n)], **more}


async def test_track_stores_events_and_answers_with_them(client: httpx.AsyncClient,
                                                         cdp: CdpStore) -> None:
    resp = await client.post("/track", json=payload(2))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["profile"] == {"id": "p1", "created": True}
    assert body["session"] == {"id": "s1", "created": True, "status": "active"}
    assert [e["type"] for e in body["events"]] == [
        "profile-created", "session-opened", "visit-started", "page-view", "page-view"]
    assert (body["accepted"], body["refused"]) == (2, [])
    assert len(await cdp.session_events("s1")) == 5


async def test_a_registered_source_needs_no_key(client: httpx.AsyncClient,
                                                cdp: CdpStore) -> None:
    anonymous = {"X-API-Key": ""}
    resp = await client.post("/track", json=payload(), headers=anonymous)
    assert resp.status_code == 401
    assert resp.json()["field"] == "source.id"
    assert "supervisor cdp source add web" in resp.json()["error"]
    await cdp.add_source("web", "the web shop")
    assert (await client.post("/track", json=payload(), headers=anonymous)).status_code == 200
    bad_key = await client.post("/track", json=payload(), headers={"X-API-Key": "nope"})
    assert bad_key.status_code == 401 and bad_key.json()["field"] == "X-API-Key"


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"session": {"id": "s1"}, "events": [{"type": "a"}]}, 422, "source"),
    ({"source": {"id": ""}, "events": [{"type": "a"}]}, 422, "source.id"),
    ({"source": {"id": "web"}, "events": []}, 422, "events"),
    ({"source": {"id": "web"}, "events": "click"}, 422, "events"),
    ({"source": {"id": "web"}, "events": [{"type": "a"}], "profile": {"id": 7}}, 422,
     "profile.id"),
    ({"source": {"id": "web"}, "events": [{"properties": {}}]}, 422, "events[0].type"),
    ([1, 2], 422, "body"),
])
async def test_malformed_payloads_name_the_field(client: httpx.AsyncClient, body: Any,
                                                 status: int, field: str) -> None:
    resp = await client.post("/track", json=body)
    assert resp.status_code == status, resp.text
    assert resp.json()["field"] == field
    assert resp.json()["success"] is False


async def test_a_body_that_is_not_json_is_a_400(client: httpx.AsyncClient) -> None:
    resp = await client.post("/track", content=b"{source:", headers={
        "Content-Type": "application/json"})
    assert resp.status_code == 400 and resp.json()["field"] == "body"


async def test_one_bad_event_of_a_hundred(client: httpx.AsyncClient, cdp: CdpStore) -> None:
    body = payload(100)
    body["events"][63] = {"type": "ok", "properties": "not an object"}
    resp = await client.post("/track", json=body)
    assert resp.status_code == 200
    answer = resp.json()
    assert answer["accepted"] == 99
    assert answer["refused"] == [{"index": 63, "field": "events[63].properties",
                                  "error": "Input should be a valid dictionary "
                                           "(got 'not an object')"}]
    stored = [r for r in await cdp.session_events("s1") if r["type"] == "page-view"]
    assert len(stored) == 99
