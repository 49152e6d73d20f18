"""The export through the API: refused at creation, run by the daemon, downloaded; the query."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest

from services.contacts.api_query import router
from services.contacts.export import ExportCsvFile
from services.contacts.vql import MISSING_SELECT_COLUMNS
from services.shared.objects import ObjectStore
from supervisor.config import Config
from supervisor.daemon import Daemon
from supervisor.families import Families, Family, FamilyEnv, discover
from supervisor.store.jobs import JobStore
from tests.contacts.export_support import export_api, resources
from tests.helpers import eventually, running_daemon
from tests.integration.vql_support import P1, P3, P4, load_fixed_set


@pytest.fixture
async def db(pool: asyncpg.Pool) -> asyncpg.Pool:
    await load_fixed_set(pool)
    return pool


async def create(client: httpx.AsyncClient, job_data: dict[str, Any]) -> httpx.Response:
    return await client.post("/common/jobs/create",
                             json={"job_type": "export_csv_file", "job_data": job_data})


@pytest.mark.parametrize(("job_data", "expect"), [
    ({"service": "contact", "vql": {}}, MISSING_SELECT_COLUMNS),
    ({"service": "contact", "vql": {"select_columns": []}}, MISSING_SELECT_COLUMNS),
    ({"service": "contact", "vql": {"select_columns": ["emial"]}},
     "vql.select_columns[0]: unknown field 'emial' for service contact; did you mean email?"),
    ({"service": "contact", "vql": {"select_columns": ["email"], "where": {
        "keyword_match": {"must": {"colour": "red"}}}}},
     "vql.where.keyword_match.must.colour: unknown field 'colour'"),
    ({"service": "contact", "vql": {"select_columns": ["email"], "where": {"text_matches": {
        "must": [{"text_value": "x", "filter_key": "title", "search_type": "fuzzy"}]}}}},
     "search_type 'fuzzy' is not one of exact, shuffle, substring"),
    ({"service": "company", "vql": {"select_columns": ["name"], "where": {"range_query": {
        "must": {"name": {"gte": "a"}}}}}},
     "vql.where.range_query.must.name: name is a text field; range_query takes number"),
    ({"service": "person", "vql": {"select_columns": ["email"]}},
     "service 'person' is not one of contact, company"),
])
async def test_bad_exports_are_refused_at_creation(
        db: asyncpg.Pool, config: Config, objects: ObjectStore, job_data: dict[str, Any],
        expect: str) -> None:
    async with export_api(db, config, objects) as (client, _):
        resp = await create(client, job_data)
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["success"] is False
    assert expect in body["error"]
    assert body["error"].startswith("ERR_INVALID_JOB_DATA: job_data.")
    assert await db.fetchval("SELECT count(*) FROM jobs") == 0


async def test_query_answers_rows_and_a_cursor(
        db: asyncpg.Pool, config: Config, objects: ObjectStore) -> None:
    vql: dict[str, Any] = {"where": {"keyword_match": {"must": {"country": "usa"}}},
                           "select_columns": ["uuid", "email"], "limit": 2}
    async with export_api(db, config, objects) as (client, _):
        first = (await client.post("/common/contact/query", json=vql)).json()
        vql["cursor"] = first["cursor"]
        second = (await client.post("/common/contact/query", json=vql)).json()
    assert first["success"] is True
    assert first["data"] == [{"uuid": P4, "email": "mary@acme.com"},
                             {"uuid": P3, "email": "jon@initech.com"}]
    assert first["cursor"] == [P3]
    assert second == {"data": [{"uuid": P1, "email": "john@acme.com"}], "cursor": None,
                      "success": True}


@pytest.mark.parametrize(("path", "body", "status", "field", "text"), [
    ("/common/contact/query", {"limit": 500}, 400, "vql.limit", "at most 100 rows"),
    ("/common/contact/query", {"where": {"keyword_match": {"must": {"x": 1}}}}, 400,
     "vql.where.keyword_match.must.x", "unknown field 'x'"),
    ("/common/contact/query", {"order_by": "uuid"}, 400, "vql.order_by",
     "ERR_INVALID_VQL: vql.order_by"),
    ("/common/person/query", {}, 404, "service", "ERR_UNKNOWN_SERVICE"),
])
async def test_query_refuses_bad_input(db: asyncpg.Pool, config: Config, objects: ObjectStore,
                                       path: str, body: Any, status: int, field: str,
                                       text: str) -> None:
    async with export_api(db, config, objects) as (client, _):
        resp = await client.post(path, json=body)
    assert resp.status_code == status, resp.text
    assert resp.json()["field"] == field
    assert text in resp.json()["error"]


async def test_routes_need_a_key(db: asyncpg.Pool, config: Config, objects: ObjectStore) -> None:
    async with export_api(db, config, objects) as (client, _):
        del client.headers["X-API-Key"]
        assert (await client.post("/common/contact/query", json={})).status_code == 401
        url = "/common/jobs/00000000-0000-4000-8000-000000000000/download"
        assert (await client.get(url)).status_code == 401


def daemon_families(objects: ObjectStore, pool: asyncpg.Pool) -> Families:
    """The installed families, with the export's pieces as the contacts family."""

    @asynccontextmanager
    async def open_resources(env: FamilyEnv) -> AsyncIterator[Any]:
        yield resources(objects, env.job_pool)

    fam = Family("contacts", job_types=(ExportCsvFile(),), routers=(router,),
                 resources=open_resources)
    return Families([*(lf.family for lf in discover() if lf.family.name != "contacts"), fam])


async def test_export_runs_and_downloads(db: asyncpg.Pool, config: Config,
                                         objects: ObjectStore) -> None:
    job_data = {"service": "contact", "vql": {
        "select_columns": ["email"], "where": {"keyword_match": {"must": {"country": "usa"}}}}}
    store = JobStore(db)
    async with export_api(db, config, objects) as (client, _), \
            running_daemon(Daemon(config, daemon_families(objects, db))):
        resp = await create(client, job_data)
        assert resp.status_code == 201, resp.text
        uuid = UUID(resp.json()["uuid"])

        async def done() -> bool:
            row = await store.get(uuid)
            return row is not None and row["status"] in ("completed", "dead", "failed")

        await eventually(done, what="export finished")
        row = await store.get(uuid)
        assert row is not None and row["status"] == "completed", row
        assert row["job_response"]["s3_key"] == f"uploads/{uuid}.csv"
        assert row["job_response"]["messages"] == f"3 rows exported to uploads/{uuid}.csv"
        got = await client.get(f"/common/jobs/{uuid}/download")
        if objects.kind == "s3":
            assert got.status_code == 307
            async with httpx.AsyncClient() as plain:
                got = await plain.get(got.headers["location"])
        assert got.status_code == 200
        assert got.text == ('email\r\n"mary@acme.com"\r\n"jon@initech.com"\r\n'
                            '"john@acme.com"\r\n')


async def test_download_of_what_is_not_a_finished_export(
        db: asyncpg.Pool, config: Config, objects: ObjectStore) -> None:
    store = JobStore(db)
    pending = await store.create("export_csv_file", {"service": "contact",
                                                     "vql": {"select_columns": ["email"]}})
    other = await store.create("noop", {})
    async with export_api(db, config, objects) as (client, _):
        r = await client.get(f"/common/jobs/{pending['uuid']}/download")
        assert r.status_code == 409 and "ERR_EXPORT_NOT_READY" in r.json()["error"]
        r = await client.get(f"/common/jobs/{other['uuid']}/download")
        assert r.status_code == 400 and "ERR_NOT_AN_EXPORT" in r.json()["error"]
        r = await client.get("/common/jobs/00000000-0000-4000-8000-000000000000/download")
        assert r.status_code == 404


async def test_query_without_open_resources_reads_postgresql(
        db: asyncpg.Pool, config: Config, objects: ObjectStore) -> None:
    async with export_api(db, config, objects) as (client, rt):
        rt.families.get("contacts").resources = None  # an API app the daemon did not set up
        resp = await client.post("/common/company/query",
                                 json={"select_columns": ["name"], "limit": 1,
                                       "order_by": [{"order_by": "name"}]})
    assert resp.status_code == 200, resp.text
    assert resp.json()["data"] == [{"name": "acme corp"}]
