"""Injection attempts through VQL: field names are refused, values and directions are bound."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from services.contacts.query import fetch_page
from services.contacts.vql import Vql, VqlError
from tests.integration.vql_support import P1, P2, P3, P4, P5, load_fixed_set

ATTACKS = ["usa' OR '1'='1", "usa'; DROP TABLE contacts; --", "$1", "%' OR ''='",
           "\\'; SELECT pg_sleep(10); --"]


@pytest.fixture
async def db(pool: asyncpg.Pool) -> asyncpg.Pool:
    await load_fixed_set(pool)
    return pool


async def run(db: asyncpg.Pool, body: dict[str, Any]) -> list[str]:
    page = await fetch_page(db, Vql.model_validate({"select_columns": ["uuid"], **body}),
                            "contact")
    return [r["uuid"] for r in page.rows]


async def still_there(db: asyncpg.Pool) -> None:
    assert await db.fetchval("SELECT count(*) FROM contacts") == 6


@pytest.mark.parametrize("value", ATTACKS)
async def test_keyword_values_are_bound(db: asyncpg.Pool, value: str) -> None:
    assert await run(db, {"where": {"keyword_match": {"must": {"country": value}}}}) == []
    assert await run(db, {"where": {"keyword_match": {"must": {"country": [value, "x"]}}}}) == []
    await still_there(db)


@pytest.mark.parametrize("value", ATTACKS)
@pytest.mark.parametrize("kind", ["exact", "shuffle", "substring"])
async def test_text_values_are_bound(db: asyncpg.Pool, value: str, kind: str) -> None:
    tm = {"text_value": value, "filter_key": "email", "search_type": kind, "fuzzy": True}
    assert await run(db, {"where": {"text_matches": {"must": [tm]}}}) == []
    await still_there(db)


async def test_regex_operators_in_a_phrase_are_not_regex(db: asyncpg.Pool) -> None:
    tm = {"text_value": "chief.*officer", "filter_key": "title", "search_type": "exact"}
    # only the words count: "chief officer" is not a phrase of any title
    assert await run(db, {"where": {"text_matches": {"must": [tm]}}}) == []


async def test_range_bounds_are_bound(db: asyncpg.Pool) -> None:
    with pytest.raises(VqlError, match="not a valid int"):
        await run(db, {"where": {"range_query": {"must": {
            "company_employees_count": {"gte": "0 OR 1=1"}}}}})


@pytest.mark.parametrize("direction", ["desc; DROP TABLE contacts", "DESC NULLS FIRST",
                                       "asc, (SELECT 1)"])
async def test_sort_directions_are_asc_or_desc_only(db: asyncpg.Pool, direction: str) -> None:
    got = await run(db, {"order_by": [{"order_by": "last_name", "order_direction": direction}],
                         "limit": 10})
    assert got == [P2, P4, P1, P3, P5]  # ascending, whatever else the direction said
    await still_there(db)


async def test_cursor_values_are_bound(db: asyncpg.Pool) -> None:
    body: dict[str, Any] = {"order_by": [{"order_by": "last_name"}],
                            "cursor": ["a') OR ('1'='1", "00000000-0000-4000-8000-000000000000"]}
    assert await run(db, body) == [P2, P4, P1, P3, P5]
    with pytest.raises(VqlError, match="not a valid uuid"):
        await run(db, {"cursor": ["' OR 1=1 --"]})
    await still_there(db)
