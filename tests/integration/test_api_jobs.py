"""The Jobs API over HTTP on a real database: documented requests and errors, and bad input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from supervisor.api.errors import INVALID_RETRY_COUNT, MISSING_JOB_DATA, MISSING_JOB_TYPE
from supervisor.api.jobs import encode_cursor
from supervisor.config import Config
from supervisor.states import ALL_STATUSES
from tests.integration.api_support import api_client

CREATE, LIST = "/common/jobs/create", "/common/jobs"


@pytest.fixture
async def client(pool: asyncpg.Pool, config: Config) -> AsyncIterator[httpx.AsyncClient]:
    """An authenticated client on this test's database."""
    async with api_client(pool, config) as (c, _):
        yield c


async def _create(client: httpx.AsyncClient, **body: Any) -> str:
    r = await client.post(CREATE, json={"job_type": "noop", "job_data": {}, **body})
    assert r.status_code == 201, r.text
    uuid: str = r.json()["uuid"]
    return uuid


def _refused(r: httpx.Response, status: int = 400) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["success"] is False
    message: str = body["error"]
    return message


# --- the documented requests -------------------------------------------------------------

async def test_create_answers_201_with_the_documented_body_and_the_uuid(
    client: httpx.AsyncClient, pool: asyncpg.Pool,
) -> None:
    r = await client.post(CREATE, json={"job_type": "noop", "job_data": {"s3_key": "a.csv"},
                                        "retry_count": 3})
    assert r.status_code == 201
    body = r.json()
    assert {k: body[k] for k in ("message", "success")} == {
        "message": "Job created successfully", "success": True}
    row = await pool.fetchrow("SELECT * FROM jobs WHERE uuid = $1::uuid", body["uuid"])
    assert (row["status"], row["data"], row["retry_count"], row["retry_interval"]) == (
        "open", {"s3_key": "a.csv"}, 3, 30)


async def test_create_takes_retry_interval(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    uuid = await _create(client, retry_interval=0)
    assert await pool.fetchval("SELECT retry_interval FROM jobs WHERE uuid = $1::uuid", uuid) == 0


async def test_list_answers_the_documented_shape(client: httpx.AsyncClient) -> None:
    uuid = await _create(client, job_data={"k": 1})
    r = await client.post(LIST, json={})
    assert r.status_code == 200
    body = r.json()
    assert body["success"] is True and body["next_cursor"] is None
    job = body["data"][0]
    for key in ("id", "uuid", "job_type", "data", "status", "job_response", "retry_count",
                "retry_interval", "run_after", "created_at", "updated_at"):
        assert key in job
    assert (job["uuid"], job["data"], job["status"]) == (uuid, {"k": 1}, "open")


async def test_list_filters_by_status(client: httpx.AsyncClient) -> None:
    kept, dropped = await _create(client), await _create(client)
    await client.post(f"{LIST}/{dropped}/cancel")
    r = await client.post(LIST, json={"status": ["open", "processing"]})
    assert [j["uuid"] for j in r.json()["data"]] == [kept]


async def test_list_filters_by_job_type(client: httpx.AsyncClient) -> None:
    await _create(client)
    sleeper = await _create(client, job_type="sleep", job_data={"seconds": 0})
    r = await client.post(LIST, json={"job_type": "sleep"})
    assert [j["uuid"] for j in r.json()["data"]] == [sleeper]


async def test_list_limit_defaults_to_25(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    await pool.execute("INSERT INTO jobs (job_type) SELECT 'noop' FROM generate_series(1, 30)")
    r = await client.post(LIST, json={})
    assert len(r.json()["data"]) == 25 and r.json()["next_cursor"]


async def test_list_with_no_body_lists_everything(client: httpx.AsyncClient) -> None:
    await _create(client)
    r = await client.post(LIST)
    assert r.status_code == 200 and len(r.json()["data"]) == 1


async def test_cursor_pages_through_every_job_once(client: httpx.AsyncClient,
                                                   pool: asyncpg.Pool) -> None:
    await pool.execute("INSERT INTO jobs (job_type) SELECT 'noop' FROM generate_series(1, 7)")
    seen: list[int] = []
    cursor = None
    while True:
        body = (await client.post(LIST, json={"limit": 3, "cursor": cursor})).json()
        seen += [j["id"] for j in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == list(range(7, 0, -1))


# --- the documented errors ---------------------------------------------------------------

async def test_missing_job_type_is_the_documented_error(client: httpx.AsyncClient) -> None:
    r = await client.post(CREATE, json={"job_data": {}})
    assert r.status_code == 400 and r.json() == {"error": MISSING_JOB_TYPE, "success": False}


@pytest.mark.parametrize("value", [None, ""])
async def test_null_or_empty_job_type_is_missing(client: httpx.AsyncClient, value: Any) -> None:
    r = await client.post(CREATE, json={"job_type": value, "job_data": {}})
    assert _refused(r) == MISSING_JOB_TYPE


async def test_missing_job_data_is_the_documented_error(client: httpx.AsyncClient) -> None:
    r = await client.post(CREATE, json={"job_type": "noop"})
    assert r.status_code == 400 and r.json() == {"error": MISSING_JOB_DATA, "success": False}


async def test_null_job_data_is_missing(client: httpx.AsyncClient) -> None:
    r = await client.post(CREATE, json={"job_type": "noop", "job_data": None})
    assert _refused(r) == MISSING_JOB_DATA


@pytest.mark.parametrize("value", [-1, 1.5, "3", True, None, [1]])
async def test_invalid_retry_count_is_the_documented_error(client: httpx.AsyncClient,
                                                           value: Any) -> None:
    r = await client.post(CREATE, json={"job_type": "noop", "job_data": {}, "retry_count": value})
    assert r.status_code == 400 and r.json() == {"error": INVALID_RETRY_COUNT, "success": False}


async def test_retry_count_beyond_the_column_says_the_maximum(client: httpx.AsyncClient) -> None:
    r = await client.post(CREATE, json={"job_type": "noop", "job_data": {}, "retry_count": 2**40})
    message = _refused(r)
    assert message.startswith("ERR_INVALID_RETRY_COUNT") and "2147483647" in message


async def test_documented_errors_come_before_our_own(client: httpx.AsyncClient) -> None:
    r = await client.post(CREATE, json={"job_data": {}, "bogus": 1, "retry_interval": -1})
    assert _refused(r) == MISSING_JOB_TYPE


# --- bad input beyond the document -------------------------------------------------------

async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    r = await client.post(CREATE, content=b'{"job_type": "noop",', headers=_json())
    message = _refused(r)
    assert message.startswith("ERR_INVALID_JSON") and "line 1" in message


async def test_a_body_that_is_not_an_object_is_400(client: httpx.AsyncClient) -> None:
    message = _refused(await client.post(CREATE, json=["noop"]))
    assert message.startswith("ERR_INVALID_BODY") and "'job_type'" in message


async def test_unknown_fields_are_named(client: httpx.AsyncClient) -> None:
    r = await client.post(CREATE, json={"job_type": "noop", "job_data": {}, "lane": 1,
                                        "queue": "x"})
    message = _refused(r)
    assert "'lane', 'queue'" in message and "job_type, job_data, retry_count" in message
    assert r.json()["field"] == "lane"


async def test_unknown_job_type_lists_the_known_ones(client: httpx.AsyncClient) -> None:
    r = await client.post(CREATE, json={"job_type": "nope", "job_data": {}})
    message = _refused(r)
    assert message.startswith("ERR_UNKNOWN_JOB_TYPE") and "noop" in message


async def test_job_type_of_the_wrong_type(client: httpx.AsyncClient) -> None:
    message = _refused(await client.post(CREATE, json={"job_type": 5, "job_data": {}}))
    assert message.startswith("ERR_INVALID_JOB_TYPE") and "'job_type'" in message


async def test_job_data_that_is_not_an_object(client: httpx.AsyncClient) -> None:
    message = _refused(await client.post(CREATE, json={"job_type": "noop", "job_data": [1]}))
    assert message.startswith("ERR_INVALID_JOB_DATA") and "JSON object" in message


async def test_job_data_failing_its_type_names_the_inner_field(client: httpx.AsyncClient) -> None:
    r = await client.post(CREATE, json={"job_type": "sleep", "job_data": {"seconds": "soon"}})
    message = _refused(r)
    assert message.startswith("ERR_INVALID_JOB_DATA") and r.json()["field"] == "job_data.seconds"


@pytest.mark.parametrize("raw", [b'{"job_type":"noop","job_data":{"a":"\\u0000"}}',
                                 b'{"job_type":"noop","job_data":{"a":1e400}}'])
async def test_values_postgres_cannot_store_are_400(client: httpx.AsyncClient,
                                                    raw: bytes) -> None:
    message = _refused(await client.post(CREATE, content=raw, headers=_json()))
    assert message.startswith("ERR_INVALID_JOB_DATA")


async def test_negative_retry_interval_is_named(client: httpx.AsyncClient) -> None:
    r = await client.post(CREATE, json={"job_type": "noop", "job_data": {}, "retry_interval": -5})
    assert _refused(r).startswith("ERR_INVALID_RETRY_INTERVAL") and "-5" in r.json()["error"]


async def test_a_non_json_content_type_is_415(client: httpx.AsyncClient) -> None:
    r = await client.post(CREATE, content=b"job_type=noop",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert "Content-Type: application/json" in _refused(r, 415)


@pytest.mark.parametrize("status", [["bogus"], "open", [1]])
async def test_status_outside_the_set_lists_the_allowed_ones(client: httpx.AsyncClient,
                                                             status: Any) -> None:
    message = _refused(await client.post(LIST, json={"status": status}))
    assert message.startswith("ERR_INVALID_STATUS") and ", ".join(ALL_STATUSES) in message


@pytest.mark.parametrize("limit", [0, 101, -1, "10", 2.5])
async def test_limit_outside_1_to_100_is_400(client: httpx.AsyncClient, limit: Any) -> None:
    message = _refused(await client.post(LIST, json={"limit": limit}))
    assert message.startswith("ERR_INVALID_LIMIT") and "from 1 to 100" in message


async def test_limit_100_is_accepted(client: httpx.AsyncClient) -> None:
    assert (await client.post(LIST, json={"limit": 100})).status_code == 200


async def test_unknown_list_field_is_named(client: httpx.AsyncClient) -> None:
    r = await client.post(LIST, json={"state": ["open"]})
    assert "'state'" in _refused(r) and "status" in r.json()["error"]


@pytest.mark.parametrize("cursor", ["garbage!", "", encode_cursor(5) + "x", "am9iczotMQ"])
async def test_a_cursor_we_did_not_make_is_400(client: httpx.AsyncClient, cursor: str) -> None:
    if cursor == "":
        assert (await client.post(LIST, json={"cursor": cursor})).status_code == 200
        return
    message = _refused(await client.post(LIST, json={"cursor": cursor}))
    assert message.startswith("ERR_INVALID_CURSOR")


async def test_job_type_filter_with_nul_is_400(client: httpx.AsyncClient) -> None:
    r = await client.post(LIST, content=b'{"job_type": "a\\u0000b"}', headers=_json())
    assert _refused(r).startswith("ERR_INVALID_JOB_TYPE")


# --- beyond the document: show, cancel, retry --------------------------------------------

async def test_show_a_job(client: httpx.AsyncClient) -> None:
    uuid = await _create(client)
    r = await client.get(f"{LIST}/{uuid}")
    assert r.status_code == 200 and r.json()["data"]["uuid"] == uuid


async def test_show_an_unknown_job_is_404(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{LIST}/00000000-0000-0000-0000-000000000000")
    assert _refused(r, 404).startswith("ERR_JOB_NOT_FOUND")


async def test_a_malformed_uuid_is_400(client: httpx.AsyncClient) -> None:
    assert _refused(await client.get(f"{LIST}/not-a-uuid")).startswith("ERR_INVALID_UUID")


async def test_cancel_then_cancel_again(client: httpx.AsyncClient) -> None:
    uuid = await _create(client)
    r = await client.post(f"{LIST}/{uuid}/cancel")
    assert r.status_code == 200 and r.json()["data"]["status"] == "cancelled"
    again = await client.post(f"{LIST}/{uuid}/cancel")
    assert "cancelled already" in _refused(again, 409)


async def test_retry_a_cancelled_job(client: httpx.AsyncClient) -> None:
    uuid = await _create(client)
    await client.post(f"{LIST}/{uuid}/cancel")
    r = await client.post(f"{LIST}/{uuid}/retry")
    assert r.status_code == 200 and r.json()["data"]["status"] == "open"


async def test_retry_an_open_job_is_409(client: httpx.AsyncClient) -> None:
    uuid = await _create(client)
    assert "only failed, dead or cancelled" in _refused(
        await client.post(f"{LIST}/{uuid}/retry"), 409)


async def test_cancel_an_unknown_job_is_404(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{LIST}/00000000-0000-0000-0000-000000000000/cancel")
    assert _refused(r, 404).startswith("ERR_JOB_NOT_FOUND")


def _json() -> dict[str, str]:
    return {"Content-Type": "application/json"}
