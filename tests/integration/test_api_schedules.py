"""The schedules API over HTTP on a real database: every endpoint and its refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from supervisor.config import Config
from tests.integration.api_support import api_client

BASE = "/common/schedules"
NIGHTLY = {"name": "nightly", "cron": "0 3 * * *", "timezone": "Europe/Warsaw",
           "job_type": "noop", "data": {"k": 1}}


@pytest.fixture
async def client(pool: asyncpg.Pool, config: Config) -> AsyncIterator[httpx.AsyncClient]:
    """An authenticated client on this test's database, with one schedule 'nightly'."""
    async with api_client(pool, config) as (c, _):
        r = await c.post(f"{BASE}/create", json=NIGHTLY)
        assert r.status_code == 201, r.text
        yield c


def _refused(r: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert body["success"] is False and body["error"].startswith("ERR_")
    return body


async def test_create_answers_201_with_the_schedule(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{BASE}/create", json={**NIGHTLY, "name": "hourly", "cron": "0 * * * *"})
    assert r.status_code == 201
    data = r.json()["data"]
    assert (data["name"], data["active"], data["source"]) == ("hourly", True, "api")
    assert data["next_run_at"] is not None


async def test_list_and_filter_by_active(client: httpx.AsyncClient) -> None:
    await client.post(f"{BASE}/create", json={**NIGHTLY, "name": "other"})
    await client.post(f"{BASE}/other/pause")
    every = (await client.get(BASE)).json()["data"]
    paused = (await client.get(BASE, params={"active": "false"})).json()["data"]
    assert [s["name"] for s in every] == ["nightly", "other"]
    assert [s["name"] for s in paused] == ["other"]


async def test_show(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{BASE}/nightly")
    assert r.status_code == 200 and r.json()["data"]["timezone"] == "Europe/Warsaw"


async def test_edit_changes_only_the_fields_given(client: httpx.AsyncClient) -> None:
    r = await client.patch(f"{BASE}/nightly", json={"cron": "30 4 * * *", "retry_count": 2})
    data = r.json()["data"]
    assert (data["cron"], data["retry_count"], data["data"]) == ("30 4 * * *", 2, {"k": 1})


async def test_pause_and_resume(client: httpx.AsyncClient) -> None:
    paused = (await client.post(f"{BASE}/nightly/pause")).json()["data"]
    resumed = (await client.post(f"{BASE}/nightly/resume")).json()["data"]
    assert (paused["active"], paused["next_run_at"]) == (False, None)
    assert resumed["active"] is True and resumed["next_run_at"] is not None


async def test_trigger_creates_a_job_and_history_shows_it(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{BASE}/nightly/trigger")
    assert r.status_code == 201
    uuid = r.json()["data"]["uuid"]
    runs = (await client.get(f"{BASE}/nightly/history")).json()["data"]
    events = (await client.get(f"{BASE}/nightly/events")).json()["data"]
    assert [run["uuid"] for run in runs] == [uuid]
    assert events[0]["kind"] == "triggered"
    job = (await client.get(f"/common/jobs/{uuid}")).json()["data"]
    assert job["data"] == {"k": 1}


async def test_explain_lists_the_next_fires(client: httpx.AsyncClient) -> None:
    fires = (await client.get(f"{BASE}/nightly/explain", params={"count": 3})).json()["data"]
    assert len(fires) == 3 and {"utc", "local", "note"} <= set(fires[0])
    assert fires[0]["local"].endswith(("+01:00", "+02:00"))  # Warsaw time, winter or summer


async def test_delete(client: httpx.AsyncClient) -> None:
    r = await client.delete(f"{BASE}/nightly")
    assert r.status_code == 200 and r.json()["success"] is True
    _refused(await client.get(f"{BASE}/nightly"), 404)


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/ghost"), ("PATCH", "/ghost"), ("POST", "/ghost/pause"), ("POST", "/ghost/resume"),
    ("DELETE", "/ghost"), ("POST", "/ghost/trigger"), ("GET", "/ghost/history"),
    ("GET", "/ghost/explain")])
async def test_an_unknown_schedule_is_404(client: httpx.AsyncClient, method: str,
                                          path: str) -> None:
    r = await client.request(method, BASE + path, json={} if method == "PATCH" else None)
    assert "no schedule named 'ghost'" in _refused(r, 404)["error"]


async def test_a_duplicate_name_is_refused(client: httpx.AsyncClient) -> None:
    body = _refused(await client.post(f"{BASE}/create", json=NIGHTLY))
    assert body["field"] == "name" and "already exists" in body["error"]


@pytest.mark.parametrize(("change", "field"), [
    ({"cron": "61 * * * *"}, "cron"), ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"job_type": "nope"}, "job_type"), ({"misfire_policy": "later"}, "misfire_policy"),
    ({"retry_count": -1}, "retry_count"), ({"name": "has space"}, "name"),
    ({"colour": "red"}, "colour")])
async def test_bad_schedules_name_the_field(client: httpx.AsyncClient, change: dict[str, Any],
                                            field: str) -> None:
    body = _refused(await client.post(f"{BASE}/create", json={**NIGHTLY, "name": "x", **change}))
    assert body["field"] == field, body


async def test_a_missing_field_is_named(client: httpx.AsyncClient) -> None:
    body = _refused(await client.post(f"{BASE}/create", json={"name": "x", "job_type": "noop"}))
    assert body["error"].startswith("ERR_MISSING_CRON") and body["field"] == "cron"


async def test_data_failing_the_job_type_is_named(client: httpx.AsyncClient) -> None:
    change = {"name": "s", "job_type": "sleep", "data": {"seconds": "x"}}
    body = _refused(await client.post(f"{BASE}/create", json={**NIGHTLY, **change}))
    assert body["field"] == "data.seconds"


async def test_an_edit_cannot_rename(client: httpx.AsyncClient) -> None:
    body = _refused(await client.patch(f"{BASE}/nightly", json={"name": "renamed"}))
    assert body["error"].startswith("ERR_UNKNOWN_FIELD")


async def test_a_bad_name_in_the_path_is_400(client: httpx.AsyncClient) -> None:
    assert _refused(await client.get(f"{BASE}/-bad"))["field"] == "name"


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 101}, {"limit": "x"}])
async def test_history_limit_outside_1_to_100_is_400(client: httpx.AsyncClient,
                                                     query: dict[str, Any]) -> None:
    body = _refused(await client.get(f"{BASE}/nightly/history", params=query))
    assert body["error"].startswith("ERR_INVALID_LIMIT")


async def test_schedules_need_a_key(client: httpx.AsyncClient) -> None:
    _refused(await client.get(BASE, headers={"X-API-Key": ""}), 401)
