"""Workflow segmentation pages, the trigger job types and the mapping replay."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.cdp.mapping import MappingIn
from services.cdp.mapping_store import MappingStore, PostCollectionMapping, ReplayPayload
from services.cdp.segments.jobs import (
    Segmentation,
    SegmentationPayload,
    WorkflowPage,
    WorkflowSegmentation,
)
from services.cdp.segments.model import SegmentIn
from services.cdp.segments.store import SegmentStore
from services.cdp.segments.triggers import (
    EventPayload,
    TriggerEvent,
    TriggerWebhook,
    WebhookPayload,
)
from services.cdp.store import q
from supervisor.errors import PermanentError
from tests.integration.segments.conftest import add_profiles, job_ctx, resources, segments_of


class EvenAges(WorkflowSegmentation):
    """A user's workflow: profiles with an even age; a page holding 'boom' raises."""

    name = "even_ages"

    async def decide(self, ctx: Any, profiles: list[dict[str, Any]]) -> set[str]:
        if any(p["id"] == "0boom" for p in profiles):
            raise RuntimeError("workflow code failed on purpose")
        return {p["id"] for p in profiles if p.get("traits", {}).get("age", 1) % 2 == 0}


async def test_workflow_segment_runs_a_job_per_page_and_a_failing_page_fails_alone(
        seg_pool: asyncpg.Pool) -> None:
    await SegmentStore(seg_pool).save(SegmentIn(name="Even", type="workflow",
                                                workflow="even_ages"))
    await add_profiles(seg_pool, [{"id": f"a{i}", "traits": {"age": i}} for i in range(5)]
                       + [{"id": "0boom"}])
    res = resources(seg_pool, pool_size=2)
    out = await Segmentation().run(job_ctx(res), SegmentationPayload())
    assert out["workflow_pages"] == 3
    pages = await seg_pool.fetch("SELECT uuid, data FROM jobs WHERE job_type = 'even_ages' "
                                 "ORDER BY id")
    results = []
    for page in pages:
        payload = WorkflowPage.model_validate(page["data"])
        try:
            results.append(await EvenAges().run(job_ctx(res, "even_ages", page["uuid"]),
                                                payload))
        except RuntimeError as exc:
            results.append({"error": str(exc)})
    assert sum(1 for r in results if "error" in r) == 1
    got = await segments_of(seg_pool)
    # 0boom and a0 share the failing page; the other pages are segmented
    assert [pid for pid, segs in got.items() if "even" in segs] == ["a2", "a4"]
    again = await Segmentation().run(job_ctx(res), SegmentationPayload())
    assert again["workflow_pages"] == 3  # a new run: new page jobs (uuids from the run)


async def test_trigger_event_is_collected_for_the_profile(seg_pool: asyncpg.Pool) -> None:
    res = resources(seg_pool)
    out = await TriggerEvent().run(job_ctx(res, "segment_trigger_event"), EventPayload(
        profile_id="p9", segment="vip", rule="welcome", change=7, type="vip-welcome",
        properties={"coupon": "X"}))
    doc = await res.cdp.event(out["event"])
    assert doc is not None and doc["type"] == "vip-welcome"
    assert doc["profile"]["id"] == "p9" and doc["properties"]["segment"] == "vip"


async def _serve(status: int) -> tuple[asyncio.Server, int, list[dict[str, Any]]]:
    got: list[dict[str, Any]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length"))
        got.append(json.loads(await reader.readexactly(length)))
        writer.write(f"HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n".encode())
        await writer.drain()
        writer.close()
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], got


async def test_webhook_posts_the_change_and_refuses_4xx(seg_pool: asyncpg.Pool) -> None:
    res = resources(seg_pool)
    for status in (200, 404, 503):
        server, port, got = await _serve(status)
        payload = WebhookPayload(profile_id="p1", segment="vip", rule="hook", change=3,
                                 url=f"http://127.0.0.1:{port}/in", profile={"id": "p1"})
        ctx = job_ctx(res, "segment_trigger_webhook")
        async with server:
            if status == 200:
                assert (await TriggerWebhook().run(ctx, payload))["status"] == 200
            elif status == 404:
                with pytest.raises(PermanentError, match="answered 404"):
                    await TriggerWebhook().run(ctx, payload)
            else:  # a 5xx is retried by the job's policy: an ordinary failure
                with pytest.raises(Exception, match="503"):
                    await TriggerWebhook().run(ctx, payload)
        assert got[0]["segment"] == "vip" and got[0]["profile"] == {"id": "p1"}


async def test_trigger_data_template_is_filled_from_the_profile(seg_pool: asyncpg.Pool
                                                               ) -> None:
    data = await seg_pool.fetchval(
        "SELECT cdp_trigger_data($1, $2, 'vip', 'r1', 5)",
        {"to": "profile@data.contact.email", "who": "@profile_id", "seg": "@segment",
         "n": 3, "all": "profile@", "none": "profile@nope.x"},
        {"id": "p1", "data": {"contact": {"email": "a@x"}}})
    assert data == {"to": "a@x", "who": "p1", "seg": "vip", "n": 3, "none": None,
                    "all": {"id": "p1", "data": {"contact": {"email": "a@x"}}}}


async def _event(pool: asyncpg.Pool, pid: str, kind: str, at: datetime,
                 props: dict[str, Any]) -> None:
    await pool.execute(q("cdp_ensure_partition"), at)
    doc = {"id": f"{pid}-{at.timestamp()}", "type": kind, "properties": props,
           "profile": {"id": pid}}
    await pool.execute(
        "INSERT INTO cdp_events (id, insert_time, type, profile_id, doc) "
        "VALUES ($1, $2, $3, $4, $5::text::jsonb)", doc["id"], at, kind, pid, json.dumps(doc))


async def test_replay_maps_history_and_twice_gives_the_same_profiles(
        seg_pool: asyncpg.Pool) -> None:
    t0 = datetime(2024, 3, 1, tzinfo=UTC)
    await add_profiles(seg_pool, [{"id": f"r{i}"} for i in range(5)])
    for i in range(5):
        await _event(seg_pool, f"r{i}", "purchase", t0 + timedelta(hours=i),
                     {"sku": f"S{i}", "email": f"{i}@x"})
        await _event(seg_pool, f"r{i}", "purchase", t0 + timedelta(hours=i, minutes=5),
                     {"sku": "S9", "email": ""})
    await _event(seg_pool, "r0", "purchase", t0 + timedelta(days=40), {"sku": "LATE"})
    await MappingStore(seg_pool).save(MappingIn.model_validate({
        "name": "Buyer", "event_type": "purchase", "event_to_profile": [
            {"event": {"value": "properties.email"}, "op": 0, "profile": {"value": "pii.email"}},
            {"event": {"value": "properties.sku"}, "op": 2, "profile": {"value": "aux.skus"}},
            {"event": {"value": "properties.sku"}, "op": 1, "profile": {"value": "aux.first"}},
        ]}))
    res = resources(seg_pool)
    payload = ReplayPayload.model_validate({"from": t0.isoformat(),
                                            "to": (t0 + timedelta(days=1)).isoformat(),
                                            "page_size": 2})
    out = await PostCollectionMapping().run(job_ctx(res, "post_collection_mapping"), payload)
    assert (out["profiles"], out["events"]) == (5, 10)
    first = {r["id"]: r["doc"] for r in await seg_pool.fetch("SELECT id, doc FROM cdp_profiles")}
    assert first["r1"]["pii"] == {"email": "1@x"}  # the empty later email was skipped
    assert first["r1"]["aux"] == {"skus": ["S1", "S9"], "first": "S1"}
    assert "LATE" not in first["r0"]["aux"]["skus"]  # outside the range
    await PostCollectionMapping().run(job_ctx(res, "post_collection_mapping"), payload)
    second = {r["id"]: r["doc"] for r in await seg_pool.fetch("SELECT id, doc FROM cdp_profiles")}
    assert second == first
