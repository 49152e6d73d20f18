"""The PostgreSQL backend on real rows: each VQL construct selects the uuids written here."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from services.contacts.query import HAS_TRIGRAM, fetch_page
from services.contacts.vql import Vql
from tests.integration.vql_support import C1, C2, C3, P1, P2, P3, P4, P5, load_fixed_set


@pytest.fixture
async def db(pool: asyncpg.Pool) -> asyncpg.Pool:
    await load_fixed_set(pool)
    return pool


async def uuids(db: asyncpg.Pool, where: dict[str, Any], service: str = "contact",
                **extra: Any) -> set[str]:
    vql = Vql.model_validate({"where": where, "select_columns": ["uuid"], "limit": 100, **extra})
    page = await fetch_page(db, vql, service)
    return {r["uuid"] for r in page.rows}


def text(value: str, key: str, kind: str, **opts: Any) -> dict[str, Any]:
    return {"text_value": value, "filter_key": key, "search_type": kind, **opts}


async def test_empty_where_selects_every_live_row(db: asyncpg.Pool) -> None:
    assert await uuids(db, {}) == {P1, P2, P3, P4, P5}
    assert await uuids(db, {}, "company") == {C1, C2, C3}


async def test_keyword_scalar_is_equality_lower_cased_like_the_import(db: asyncpg.Pool) -> None:
    assert await uuids(db, {"keyword_match": {"must": {"country": "USA"}}}) == {P1, P3, P4}


async def test_keyword_list_is_any_of(db: asyncpg.Pool) -> None:
    got = await uuids(db, {"keyword_match": {"must": {"country": ["usa", "germany"]}}})
    assert got == {P1, P2, P3, P4}


async def test_keyword_on_a_list_column_overlaps(db: asyncpg.Pool) -> None:
    assert await uuids(db, {"keyword_match": {"must": {"departments": "executive"}}}) == {P1, P4}
    got = await uuids(db, {"keyword_match": {"must": {"departments": ["finance", "engineering"]}}})
    assert got == {P2, P3}


async def test_keyword_must_not_keeps_rows_without_the_value(db: asyncpg.Pool) -> None:
    assert await uuids(db, {"keyword_match": {"must_not": {"country": "usa"}}}) == {P2, P5}


async def test_keyword_on_uuid_and_company_id(db: asyncpg.Pool) -> None:
    assert await uuids(db, {"keyword_match": {"must": {"company_id": C1}}}) == {P1, P4}
    assert await uuids(db, {"keyword_match": {"must": {"uuid": [P2, P3]}}}) == {P2, P3}


async def test_range_query(db: asyncpg.Pool) -> None:
    where = {"range_query": {"must": {"employees_count": {"gte": 100}}}}
    assert await uuids(db, where, "company") == {C1, C3}
    where = {"range_query": {"must": {"employees_count": {"gt": 20, "lt": 600}}}}
    assert await uuids(db, where, "company") == {C1}
    where = {"range_query": {"must_not": {"annual_revenue": {"lt": 1000000}}}}
    assert await uuids(db, where, "company") == {C1, C3}
    where = {"range_query": {"must": {"created_at": {"gte": "2024-02-01T00:00:00Z"}}}}
    assert await uuids(db, where, "company") == {C2, C3}


async def test_contacts_filter_on_their_companys_fields(db: asyncpg.Pool) -> None:
    where = {"range_query": {"must": {"company_employees_count": {"gte": 100}}}}
    assert await uuids(db, where) == {P1, P3, P4}
    assert await uuids(db, {"keyword_match": {"must": {"company_country": "Germany"}}}) == {P2}


async def test_exact_is_a_phrase(db: asyncpg.Pool) -> None:
    assert await uuids(db, {"text_matches": {"must": [
        text("chief executive", "title", "exact")]}}) == {P1}
    assert await uuids(db, {"text_matches": {"must": [
        text("executive chief", "title", "exact")]}}) == set()


async def test_exact_with_slop_allows_words_between(db: asyncpg.Pool) -> None:
    must = [text("executive chief", "title", "exact", slop=2)]
    assert await uuids(db, {"text_matches": {"must": must}}) == set()
    must = [text("executive chief", "title", "exact", slop=3)]
    assert await uuids(db, {"text_matches": {"must": must}}) == {P4}


async def test_shuffle_is_all_words_in_any_order(db: asyncpg.Pool) -> None:
    assert await uuids(db, {"text_matches": {"must": [
        text("officer chief", "title", "shuffle")]}}) == {P1, P2}
    assert await uuids(db, {"text_matches": {"must": [
        text("engineer assistant", "title", "shuffle", operator="or")]}}) == {P3, P4}


async def test_shuffle_fuzzy_is_trigram_similarity(db: asyncpg.Pool) -> None:
    if not await db.fetchval(HAS_TRIGRAM):
        pytest.skip("this PostgreSQL has no pg_trgm (the embedded one): fuzzy is whole words")
    assert await uuids(db, {"text_matches": {"must": [
        text("smit", "last_name", "shuffle")]}}) == set()
    assert await uuids(db, {"text_matches": {"must": [
        text("smit", "last_name", "shuffle", fuzzy=True)]}}) == {P1}


async def test_substring_is_literal(db: asyncpg.Pool) -> None:
    assert await uuids(db, {"text_matches": {"must": [
        text("ACME", "email", "substring")]}}) == {P1, P4}
    assert await uuids(db, {"text_matches": {"must": [
        text("%", "title", "substring")]}}) == {P3}
    assert await uuids(db, {"text_matches": {"must": [
        text("_", "title", "substring")]}}) == set()


async def test_text_on_a_list_column_looks_in_each_value(db: asyncpg.Pool) -> None:
    assert await uuids(db, {"text_matches": {"must": [
        text("exec", "departments", "substring")]}}) == {P1, P4}
    assert await uuids(db, {"text_matches": {"must": [
        text("python", "technologies", "exact")]}}, "company") == {C3}


async def test_text_must_is_or_within_a_field_and_across_fields(db: asyncpg.Pool) -> None:
    within = [text("software engineer", "title", "exact"),
              text("chief financial", "title", "exact")]
    assert await uuids(db, {"text_matches": {"must": within}}) == {P2, P3}
    across = [*within, text("initech", "email", "substring")]
    assert await uuids(db, {"text_matches": {"must": across}}) == {P3}


async def test_text_must_not_excludes_matches_and_keeps_missing(db: asyncpg.Pool) -> None:
    assert await uuids(db, {"text_matches": {"must_not": [
        text("chief", "title", "shuffle")]}}) == {P3, P5}


async def test_all_kinds_together(db: asyncpg.Pool) -> None:
    where = {"keyword_match": {"must": {"country": "usa"}},
             "text_matches": {"must": [text("chief", "title", "shuffle")]},
             "range_query": {"must": {"company_annual_revenue": {"gte": 1000000}}}}
    assert await uuids(db, where) == {P1, P4}


async def test_company_config_populate_joins_the_company(db: asyncpg.Pool) -> None:
    vql = Vql.model_validate({
        "select_columns": ["uuid", "first_name"],
        "where": {"keyword_match": {"must": {"uuid": [P1, P5]}}},
        "order_by": [{"order_by": "first_name", "order_direction": "asc"}],
        "company_config": {"populate": True, "select_columns": ["name", "industries"]}})
    page = await fetch_page(db, vql, "contact")
    assert page.rows == [
        {"uuid": P5, "first_name": "bob", "company_name": None, "company_industries": None},
        {"uuid": P1, "first_name": "john", "company_name": "acme corp",
         "company_industries": ["software", "saas"]}]


async def test_sort_and_cursor_pages_through_every_row_once(db: asyncpg.Pool) -> None:
    seen: list[str] = []
    body: dict[str, Any] = {"select_columns": ["uuid", "last_name"], "limit": 2,
                            "order_by": [{"order_by": "last_name", "order_direction": "asc"}]}
    while True:
        page = await fetch_page(db, Vql.model_validate(body), "contact")
        seen += [r["uuid"] for r in page.rows]
        if page.cursor is None:
            break
        body["cursor"] = page.cursor
    # doe, major, smith, smyth, then bob's NULL last name sorts last
    assert seen == [P2, P4, P1, P3, P5]


async def test_descending_sort_puts_nulls_last_too(db: asyncpg.Pool) -> None:
    seen: list[str] = []
    body: dict[str, Any] = {"select_columns": ["uuid"], "limit": 3,
                            "order_by": [{"order_by": "title", "order_direction": "desc"}]}
    while True:
        page = await fetch_page(db, Vql.model_validate(body), "contact")
        seen += [r["uuid"] for r in page.rows]
        if page.cursor is None:
            break
        body["search_after"] = page.cursor
    assert seen == [P3, P4, P2, P1, P5]


async def test_page_is_an_offset(db: asyncpg.Pool) -> None:
    body = {"select_columns": ["uuid"], "limit": 2, "page": 2,
            "order_by": [{"order_by": "last_name"}]}
    page = await fetch_page(db, Vql.model_validate(body), "contact")
    assert [r["uuid"] for r in page.rows] == [P1, P3]


async def test_keyset_pages_never_skip_or_repeat_under_inserts(db: asyncpg.Pool) -> None:
    await db.execute("INSERT INTO contacts (uuid, first_name, last_name) SELECT "
                     "gen_random_uuid(), 'f' || i, 'n' || (i % 17) FROM generate_series(1, 300) i")
    before = {str(u) for u in await db.fetchval(
        "SELECT array_agg(uuid) FROM contacts WHERE deleted_at IS NULL")}
    body: dict[str, Any] = {"select_columns": ["uuid"], "limit": 25,
                            "order_by": [{"order_by": "last_name", "order_direction": "desc"}]}
    seen: list[str] = []
    while True:
        page = await fetch_page(db, Vql.model_validate(body), "contact")
        seen += [r["uuid"] for r in page.rows]
        if page.cursor is None:
            break
        body["cursor"] = page.cursor
        # rows land before and after the cursor while the client pages
        await db.execute("INSERT INTO contacts (uuid, first_name, last_name) SELECT "
                         "gen_random_uuid(), 'new', 'n' || (i % 17) FROM generate_series(1, 5) i")
    assert len(seen) == len(set(seen)), "a row came twice"
    assert before <= set(seen), "a row present from the start was skipped"


async def test_without_pg_trgm_fuzzy_matches_whole_words(db: asyncpg.Pool) -> None:
    from services.contacts.vql import sort_keys
    from services.contacts.vql.fields import fields_of
    from services.contacts.vql.sql import rows_query

    def run_sql(value: str) -> Any:
        vql = Vql.model_validate({"select_columns": ["uuid"], "where": {"text_matches": {
            "must": [text(value, "last_name", "shuffle", fuzzy=True)]}}})
        q = rows_query(vql, "contact", fields_of("contact"), sort_keys(vql, "contact"), 10,
                       trigram=False)
        assert "<%" not in q.sql
        return db.fetch(q.sql, *q.args)

    assert [str(r["c0"]) for r in await run_sql("SMITH")] == [P1]
    assert await run_sql("smit") == []
