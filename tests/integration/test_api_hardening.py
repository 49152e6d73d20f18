"""Refusals that must be exact: media type, strict payloads, one code table, no leaked internals."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from supervisor.config import Config
from supervisor.store.api_keys import KEY_NAME_MAX, ApiKeyStore, BadKeyName
from supervisor.store.db import create_pool
from tests.integration.api_support import api_client

CREATE = "/common/jobs/create"
SCHEDULES = "/common/schedules"
NIGHTLY = {"name": "nightly", "cron": "0 3 * * *", "job_type": "noop", "data": {}}


def _refused(r: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert body["success"] is False
    return body


@pytest.mark.parametrize("ctype", ["application/jsonp", "text/json", "application/json-seq",
                                   "application/x-json"])
async def test_only_application_json_is_accepted(pool: asyncpg.Pool, config: Config,
                                                 ctype: str) -> None:
    async with api_client(pool, config) as (client, _):
        r = await client.post(CREATE, content=b'{"job_type": "noop", "job_data": {}}',
                              headers={"Content-Type": ctype})
    assert _refused(r, 415)["error"].startswith("ERR_UNSUPPORTED_MEDIA_TYPE")


async def test_application_json_with_parameters_is_accepted(pool: asyncpg.Pool,
                                                            config: Config) -> None:
    async with api_client(pool, config) as (client, _):
        r = await client.post(CREATE, content=b'{"job_type": "noop", "job_data": {}}',
                              headers={"Content-Type": "Application/JSON ; charset=utf-8"})
    assert r.status_code == 201, r.text


async def test_payloads_are_strict(pool: asyncpg.Pool, config: Config) -> None:
    async with api_client(pool, config) as (client, _):
        r = await client.post(CREATE, json={"job_type": "sleep", "job_data": {"seconds": "5"}})
        ok = await client.post(CREATE, json={"job_type": "sleep", "job_data": {"seconds": 1}})
    body = _refused(r)
    assert body["error"].startswith("ERR_INVALID_JOB_DATA") and body["field"] == "job_data.seconds"
    assert ok.status_code == 201


async def test_jobs_and_schedules_share_one_code_per_mistake(pool: asyncpg.Pool,
                                                             config: Config) -> None:
    async with api_client(pool, config) as (client, _):
        job_type = await client.post(CREATE, json={"job_type": "nope", "job_data": {}})
        sched_type = await client.post(f"{SCHEDULES}/create",
                                       json={**NIGHTLY, "job_type": "nope"})
        job_data = await client.post(CREATE, json={"job_type": "sleep",
                                                   "job_data": {"seconds": "x"}})
        sched_data = await client.post(f"{SCHEDULES}/create", json={
            **NIGHTLY, "job_type": "sleep", "data": {"seconds": "x"}})
        job_shape = await client.post(CREATE, json={"job_type": "noop", "job_data": [1]})
        sched_shape = await client.post(f"{SCHEDULES}/create", json={**NIGHTLY, "data": [1]})
    codes = [_refused(r)["error"].split(":")[0]
             for r in (job_type, sched_type, job_data, sched_data, job_shape, sched_shape)]
    assert codes == ["ERR_UNKNOWN_JOB_TYPE"] * 2 + ["ERR_INVALID_JOB_DATA"] * 4


async def test_patterns_are_shown_as_written(pool: asyncpg.Pool, config: Config) -> None:
    async with api_client(pool, config) as (client, _):
        body = await client.post(f"{SCHEDULES}/create", json={**NIGHTLY, "name": "has space"})
        path = await client.get(f"{SCHEDULES}/-bad")
    for r in (body, path):
        message = _refused(r)["error"]
        assert "^[A-Za-z0-9]" in message and "a-za-z" not in message, message


@pytest.mark.parametrize("field", ["retry_count", "retry_interval"])
async def test_a_schedule_integer_beyond_the_column_names_the_field(
    pool: asyncpg.Pool, config: Config, field: str,
) -> None:
    async with api_client(pool, config) as (client, _):
        r = await client.post(f"{SCHEDULES}/create", json={**NIGHTLY, field: 9_999_999_999})
        patch = await client.patch(f"{SCHEDULES}/nightly", json={field: 2**31})
    body = _refused(r)
    assert body["field"] == field and body["error"].startswith(f"ERR_INVALID_{field.upper()}")
    assert "2147483647" in body["error"] and "$" not in body["error"]
    assert _refused(patch)["field"] == field


@pytest.mark.parametrize("raw", [b'{"a": NaN}', b'{"a": 1e999}', b'{"a": "x\\u0000y"}',
                                 b'{"a": [Infinity]}'])
async def test_unstorable_schedule_data_is_a_400_naming_the_field(
    pool: asyncpg.Pool, config: Config, raw: bytes,
) -> None:
    body = (b'{"name": "s", "cron": "0 3 * * *", "job_type": "noop", "data": ' + raw + b"}")
    async with api_client(pool, config) as (client, _):
        r = await client.post(f"{SCHEDULES}/create", content=body,
                              headers={"Content-Type": "application/json"})
    refused = _refused(r)
    assert refused["field"].startswith("data") and "query" not in refused["error"], refused


async def test_a_schedule_with_a_string_for_a_number_is_refused(pool: asyncpg.Pool,
                                                                config: Config) -> None:
    async with api_client(pool, config) as (client, _):
        r = await client.post(f"{SCHEDULES}/create", json={**NIGHTLY, "retry_count": "3"})
    assert _refused(r)["field"] == "retry_count"


async def test_readyz_does_not_show_the_database_error(db_dsn: str, config: Config) -> None:
    pool = await create_pool(db_dsn, min_size=1, max_size=2)
    async with api_client(pool, config) as (client, _):
        await pool.close()
        with pytest.raises(asyncpg.InterfaceError) as raw:
            await pool.fetchval("SELECT 1")
        r = await client.get("/readyz")
    assert r.status_code == 503 and r.json()["status"] == "database unavailable"
    assert str(raw.value) not in r.text and "pool" not in r.text


async def test_api_key_names_have_a_length_limit(pool: asyncpg.Pool) -> None:
    keys = ApiKeyStore(pool)
    with pytest.raises(BadKeyName, match=f"at most {KEY_NAME_MAX}"):
        await keys.create("k" * (KEY_NAME_MAX + 1))
    with pytest.raises(BadKeyName, match="control"):
        await keys.create("a\nb")
    _, row = await keys.create("k" * KEY_NAME_MAX)
    assert len(row["name"]) == KEY_NAME_MAX
