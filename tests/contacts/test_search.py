"""Elasticsearch: the exact bulk bodies an import sends, item errors, and a real server if set."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from elasticsearch import AsyncElasticsearch

from services.contacts.resources import ContactsResources
from services.shared.elastic import BulkItemErrors, host_url, item_errors, open_elastic
from services.shared.objects import write_bytes
from tests.contacts.esrecorder import elastic_recorder
from tests.contacts.importsupport import context, resources, run_import

GOLDEN = Path(__file__).parent / "golden" / "bulk_small.json"
SMALL = (
    "first_name,last_name,email,title,seniority,departments,person_linkedin_url,city,country,"
    "company,employees,industry,technologies,company_linkedin_url,company_country,website,"
    "annual_revenue\r\n"
    "Ann,Lee,Ann@Acme.com,CTO,C Suite,\"Engineering, IT\",https://linkedin.com/in/ann,Austin,"
    "United States,Acme,\"1,200\",\"Software, SaaS\",AWS,https://linkedin.com/company/acme,"
    "United States,https://acme.com,\"$1,200,000\"\r\n"
    "Bob,Ray,bob@acme.com,VP Sales,VP,Sales,https://linkedin.com/in/bob,Austin,United States,"
    "Acme,\"1,200\",\"Software, SaaS\",AWS,https://linkedin.com/company/acme,United States,"
    "https://acme.com,\"$1,200,000\"\r\n"
    "Cy,,,,,,,,,,,,,,,,\r\n"
)


async def _import(pool: asyncpg.Pool, tmp_path: Path, host: str,
                  **settings: Any) -> dict[str, Any]:
    async with resources(pool, tmp_path, **settings) as res:
        res_es = await _with_elastic(res, host)
        await write_bytes(res.objects, "small.csv", SMALL.encode())
        try:
            return await run_import(context(res_es, pool), "small.csv")
        finally:
            assert res_es.elastic is not None
            await res_es.elastic.close()


async def _with_elastic(res: ContactsResources, host: str) -> ContactsResources:
    """The resources with a client of `host`, as open_resources makes with ELASTIC_HOST."""
    res.elastic = AsyncElasticsearch(hosts=[host_url(host)])
    return res


async def test_an_import_sends_these_exact_bulk_bodies(pool: asyncpg.Pool, tmp_path: Path) -> None:
    with elastic_recorder() as (host, rec):
        result = await _import(pool, tmp_path, host)
    assert result["rows"] == 3
    got = rec.bodies
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n")
    assert got == json.loads(GOLDEN.read_text())


async def test_a_bulk_item_error_fails_the_batch_and_names_the_item(
        pool: asyncpg.Pool, tmp_path: Path) -> None:
    with elastic_recorder() as (host, rec):
        rec.fail_ids = {"6d91ddfd-220f-52b4-abde-7abfcda1fb84"}  # the company
        async with resources(pool, tmp_path) as res:
            await _with_elastic(res, host)
            await write_bytes(res.objects, "small.csv", SMALL.encode())
            ops_ids = set()
            try:
                with pytest.raises(BulkItemErrors) as err:
                    await run_import(context(res, pool), "small.csv")
            finally:
                assert res.elastic is not None
                await res.elastic.close()
        for body in rec.bodies:
            ops_ids |= {next(iter(a.values()))["_id"] for a in body[0::2]}
    assert rec.fail_ids <= ops_ids
    assert "1 of 4 bulk items failed" in str(err.value)
    assert "mapper_parsing_exception" in str(err.value)


def test_item_errors_picks_the_failed_items() -> None:
    resp = {"errors": True, "items": [
        {"index": {"_id": "a", "status": 201}},
        {"index": {"_id": "b", "status": 429, "error": {"type": "es_rejected_execution"}}}]}
    assert [e["_id"] for e in item_errors(resp)] == ["b"]
    assert item_errors({"errors": False, "items": []}) == []
    assert host_url("es.local") == "http://es.local:9200"
    assert host_url("https://u:p@es:9243/") == "https://u:p@es:9243"


@pytest.mark.skipif(not os.environ.get("ELASTIC_HOST"),
                    reason="no Elasticsearch server here: set ELASTIC_HOST to test against one")
async def test_against_a_real_server(pool: asyncpg.Pool, tmp_path: Path) -> None:
    host = os.environ["ELASTIC_HOST"]
    index = "test-contacts-import-companies"
    result = await _import(pool, tmp_path, host, elastic_company_index=index,
                           elastic_contact_index=index + "-people")
    assert result["rows"] == 3
    async with open_elastic(host) as es:
        await es.indices.refresh(index=index)
        assert (await es.count(index=index))["count"] == 1
        await es.indices.delete(index=[index, index + "-people"])
