"""Upload paths over HTTP: /common/upload-url, the directory store's PUT, job creation checks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx

from services.contacts.resources import ContactsResources
from services.shared.objects import read_bytes
from supervisor.config import Config
from tests.contacts.conftest import make_bucket
from tests.contacts.importsupport import resources
from tests.integration.api_support import api_client


@asynccontextmanager
async def client_with(pool: asyncpg.Pool, config: Config, res: ContactsResources,
                      ) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(pool, config) as (client, rt):
        rt.families.get("contacts").resources = res
        yield client


async def test_directory_store_upload_then_create_the_job(
        pool: asyncpg.Pool, config: Config, tmp_path: Path) -> None:
    async with resources(pool, tmp_path) as res, client_with(pool, config, res) as client:
        resp = await client.get("/common/upload-url", params={"filename": "people.csv"})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["s3_key"] == "uploads/people.csv"
        assert body["upload_url"] == "http://api.test/common/objects/uploads/people.csv"
        put = await client.put(body["upload_url"], content=b"email\na@b.c\n",
                               headers={"Content-Type": "text/csv"})
        assert put.status_code == 200, put.text
        assert put.json()["size"] == 12
        assert await read_bytes(res.objects, "uploads/people.csv") == b"email\na@b.c\n"
        made = await client.post("/common/jobs/create", json={
            "job_type": "insert_csv_file", "job_data": {"s3_key": body["s3_key"]}})
        assert made.status_code == 201, made.text


async def test_s3_upload_url_is_a_presigned_put(pool: asyncpg.Pool, config: Config,
                                                tmp_path: Path, s3_endpoint: str) -> None:
    await make_bucket(s3_endpoint, "uploads-bucket")
    async with resources(pool, tmp_path, endpoint=s3_endpoint, bucket="uploads-bucket") as res, \
            client_with(pool, config, res) as client:
        body = (await client.get("/common/upload-url", params={"filename": "c.csv"})).json()
        assert body["s3_key"] == "uploads/c.csv"
        assert body["upload_url"].startswith(s3_endpoint)
        async with httpx.AsyncClient() as plain:
            assert (await plain.put(body["upload_url"], content=b"x,y\n")).status_code == 200
        assert await read_bytes(res.objects, "uploads/c.csv") == b"x,y\n"


async def test_bad_uploads_and_payloads_are_refused_naming_the_field(
        pool: asyncpg.Pool, config: Config, tmp_path: Path) -> None:
    async with resources(pool, tmp_path) as res, client_with(pool, config, res) as client:
        for name in ("", "../x.csv", "a/b.csv"):
            resp = await client.get("/common/upload-url", params={"filename": name})
            assert resp.status_code == 400, resp.text
            assert resp.json()["error"].startswith("ERR_INVALID_FILENAME")
            assert ("is required" in resp.json()["error"]) == (name == ""), resp.text
        resp = await client.get("/common/upload-url")  # no filename at all
        assert resp.status_code == 400 and "is required" in resp.json()["error"], resp.text
        resp = await client.put("/common/objects/a/../../etc/x", content=b"x")
        assert resp.status_code in (400, 404)
        resp = await client.get("/common/upload-url", params={"filename": "a.csv"},
                                headers={"X-API-Key": ""})
        assert resp.status_code == 401
        for data, field in (({}, "job_data.s3_key"), ({"s3_key": "../x.csv"}, "job_data.s3_key"),
                            ({"s3_key": "a.csv", "s3_bucket": "Bad_Bucket"},
                             "job_data.s3_bucket")):
            resp = await client.post("/common/jobs/create",
                                     json={"job_type": "insert_csv_file", "job_data": data})
            assert resp.status_code == 400, resp.text
            assert resp.json()["field"] == field
            assert "s3_" in resp.json()["error"]


async def test_an_app_without_the_family_resources_opens_the_store_per_request(
        pool: asyncpg.Pool, config: Config, tmp_path: Path) -> None:
    async with api_client(pool, config.with_overrides(data_dir=str(tmp_path))) as (client, _):
        body = (await client.get("/common/upload-url", params={"filename": "x.csv"})).json()
        assert body["s3_key"] == "uploads/x.csv"
        assert (await client.put(body["upload_url"], content=b"email\n")).status_code == 200
    assert (tmp_path / "objects" / "default" / "uploads" / "x.csv").read_bytes() == b"email\n"


async def test_a_key_taken_by_a_folder_is_a_conflict(pool: asyncpg.Pool, config: Config,
                                                     tmp_path: Path) -> None:
    async with resources(pool, tmp_path) as res, client_with(pool, config, res) as client:
        assert (await client.put("/common/objects/a/b.csv", content=b"x")).status_code == 200
        resp = await client.put("/common/objects/a", content=b"x")
        assert resp.status_code == 409, resp.text
        resp = await client.put("/common/objects/a/b.csv/c", content=b"x")
        assert resp.status_code == 409, resp.text
