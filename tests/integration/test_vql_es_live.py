"""The same VQL on both backends selects the same rows, against a real Elasticsearch server.

Runs only when ELASTIC_HOST points at one (none can be installed on the build machines).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from services.contacts.query import fetch_page, search_page
from services.contacts.vql import Vql
from tests.integration.vql_support import load_fixed_set

pytestmark = pytest.mark.skipif(
    not os.environ.get("ELASTIC_HOST"),
    reason="ELASTIC_HOST is not set: no Elasticsearch server to compare the backends on")

_KEYWORD = {"type": "keyword", "normalizer": "lower"}
_TEXT = {"type": "text", "fields": {"ngram": {"type": "text", "analyzer": "ngram"}}}
SETTINGS = {"analysis": {
    "normalizer": {"lower": {"type": "custom", "filter": ["lowercase"]}},
    "tokenizer": {"ngram": {"type": "ngram", "min_gram": 3, "max_gram": 3}},
    "analyzer": {"ngram": {"type": "custom", "tokenizer": "ngram", "filter": ["lowercase"]}}}}
MAPPINGS = {"properties": {
    **{f: _KEYWORD for f in ("uuid", "company_id", "country", "departments", "seniority",
                             "company_country")},
    **{f: _TEXT for f in ("first_name", "last_name", "title", "email")},
    "company_employees_count": {"type": "long"}}}

QUERIES: list[dict[str, Any]] = [
    {},
    {"keyword_match": {"must": {"country": "USA"}}},
    {"keyword_match": {"must": {"departments": ["finance", "engineering"]}}},
    {"keyword_match": {"must_not": {"country": "usa"}}},
    {"range_query": {"must": {"company_employees_count": {"gte": 100}}}},
    {"text_matches": {"must": [{"text_value": "chief executive", "filter_key": "title",
                                "search_type": "exact"}]}},
    {"text_matches": {"must": [{"text_value": "officer chief", "filter_key": "title",
                                "search_type": "shuffle"}]}},
    {"text_matches": {"must": [{"text_value": "acme", "filter_key": "email",
                                "search_type": "substring"}]}},
    {"text_matches": {"must_not": [{"text_value": "chief", "filter_key": "title",
                                    "search_type": "shuffle"}]}},
]


@pytest.fixture
async def es_index(pool: asyncpg.Pool) -> AsyncIterator[tuple[Any, str]]:
    from services.shared.elastic import open_elastic

    await load_fixed_set(pool)
    rows = await pool.fetch(
        "SELECT t.*, co.country AS company_country, co.employees_count AS "
        "company_employees_count FROM contacts t LEFT JOIN companies co "
        "ON co.uuid = t.company_id WHERE t.deleted_at IS NULL")
    index = f"vql-test-{uuid.uuid4().hex[:8]}"
    async with open_elastic(os.environ["ELASTIC_HOST"]) as es:
        await es.indices.create(index=index, settings=SETTINGS, mappings=MAPPINGS)
        for r in rows:
            doc = {k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in dict(r).items()
                   if k in MAPPINGS["properties"]}
            await es.index(index=index, id=doc["uuid"], document=doc)
        await es.indices.refresh(index=index)
        try:
            yield es, index
        finally:
            await es.indices.delete(index=index)


@pytest.mark.parametrize("where", QUERIES)
async def test_both_backends_select_the_same_rows(
        pool: asyncpg.Pool, es_index: tuple[Any, str], where: dict[str, Any]) -> None:
    es, index = es_index
    vql = Vql.model_validate({"where": where, "select_columns": ["uuid"], "limit": 100})
    in_pg = {r["uuid"] for r in (await fetch_page(pool, vql, "contact")).rows}
    in_es = {r["uuid"] for r in (await search_page(es, index, vql, "contact")).rows}
    assert in_es == in_pg
