"""export_csv_file on real PostgreSQL rows into both object stores."""

from __future__ import annotations

import csv
import io
from typing import Any
from uuid import UUID

import asyncpg
import pytest

from services.contacts.export import ExportEnv, ExportPayload, export
from services.shared.objects import ObjectNotFound, ObjectStore, read_bytes
from tests.integration.vql_support import C1, P1, P2, P3, P4, P5, load_fixed_set

JOB = UUID("11111111-2222-4333-8444-555555555555")


@pytest.fixture
async def db(pool: asyncpg.Pool) -> asyncpg.Pool:
    await load_fixed_set(pool)
    return pool


def payload(service: str = "contact", **vql: Any) -> ExportPayload:
    return ExportPayload.model_validate({"service": service, "vql": vql})


async def read_csv(objects: ObjectStore, key: str) -> list[list[str]]:
    text = (await read_bytes(objects, key)).decode()
    return list(csv.reader(io.StringIO(text, newline="")))


async def test_export_writes_header_and_rows_newest_uuid_first(
        db: asyncpg.Pool, objects: ObjectStore) -> None:
    env = ExportEnv(objects, batch_size=2, prefix="exports")
    result = await export(db, env, payload(select_columns=["uuid", "first_name", "departments"]),
                          JOB)
    assert result["s3_key"] == f"exports/{JOB}.csv"
    assert result["messages"] == f"5 rows exported to exports/{JOB}.csv"
    assert await read_csv(objects, result["s3_key"]) == [
        ["uuid", "first_name", "departments"],
        [P5, "bob", ""], [P4, "mary", "executive,admin"], [P3, "jon", "engineering"],
        [P2, "jane", "finance"], [P1, "john", "executive"]]


async def test_sort_is_forced_and_limit_caps_the_total(
        db: asyncpg.Pool, objects: ObjectStore) -> None:
    env = ExportEnv(objects, batch_size=2)
    body = payload(select_columns=["uuid"], limit=3,
                   order_by=[{"order_by": "first_name", "order_direction": "asc"}])
    result = await export(db, env, body, JOB)
    assert await read_csv(objects, result["s3_key"]) == [["uuid"], [P5], [P4], [P3]]
    assert result["rows"] == 3


async def test_no_match_is_a_header_only_file_and_says_0_rows(
        db: asyncpg.Pool, objects: ObjectStore) -> None:
    body = payload(select_columns=["email", "title"],
                   where={"keyword_match": {"must": {"country": "atlantis"}}})
    result = await export(db, ExportEnv(objects), body, JOB)
    assert "0 rows" in result["messages"]
    assert (await read_bytes(objects, result["s3_key"])) == b"email,title\r\n"


async def test_company_populate_adds_prefixed_columns(
        db: asyncpg.Pool, objects: ObjectStore) -> None:
    body = payload(select_columns=["email"],
                   where={"keyword_match": {"must": {"company_id": C1}}},
                   company_config={"populate": True,
                                   "select_columns": ["name", "industries", "employees_count"]})
    result = await export(db, ExportEnv(objects), body, JOB)
    assert await read_csv(objects, result["s3_key"]) == [
        ["email", "company_name", "company_industries", "company_employees_count"],
        ["mary@acme.com", "acme corp", "software,saas", "100"],
        ["john@acme.com", "acme corp", "software,saas", "100"]]


async def test_formulas_are_neutralised_unless_switched_off(
        db: asyncpg.Pool, objects: ObjectStore) -> None:
    await db.execute(
        "UPDATE contacts SET title = $2, first_name = $3, last_name = $4, email = $5, "
        "city = $6, departments = $7 WHERE uuid = $1", P1, '=HYPERLINK("http://x","a, b")',
        "+1 555", "-2+3", "@SUM(A1)", "\tx", ["=cmd", "ok"])
    cols = ["title", "first_name", "last_name", "email", "city", "departments"]
    body = payload(select_columns=cols, where={"keyword_match": {"must": {"uuid": P1}}})
    result = await export(db, ExportEnv(objects), body, JOB)
    assert (await read_csv(objects, result["s3_key"]))[1] == [
        "'=HYPERLINK(\"http://x\",\"a, b\")", "'+1 555", "'-2+3", "'@SUM(A1)", "'\tx",
        "'=cmd,ok"]
    result = await export(db, ExportEnv(objects, neutralise=False), body, JOB)
    assert (await read_csv(objects, result["s3_key"]))[1] == [
        '=HYPERLINK("http://x","a, b")', "+1 555", "-2+3", "@SUM(A1)", "\tx", "=cmd,ok"]


async def test_quotes_commas_and_newlines_round_trip(
        db: asyncpg.Pool, objects: ObjectStore) -> None:
    await db.execute("UPDATE contacts SET title = $2 WHERE uuid = $1", P2,
                     'say "hi",\r\nthen\nleave')
    body = payload(select_columns=["title", "created_at"],
                   where={"keyword_match": {"must": {"uuid": P2}}})
    result = await export(db, ExportEnv(objects), body, JOB)
    rows = await read_csv(objects, result["s3_key"])
    assert rows[1][0] == 'say "hi",\r\nthen\nleave'
    assert rows[1][1].endswith("Z") and "T" in rows[1][1]


class FailingAfter:
    """A job context whose progress report raises after `pages` pages: the stream breaks."""

    def __init__(self, pages: int) -> None:
        self.pages = pages

    async def progress(self, done: float, total: float | None = None, message: str = "") -> None:
        self.pages -= 1
        if self.pages < 0:
            raise RuntimeError("database went away")

    def should_stop(self) -> bool:
        return False


async def test_a_failure_mid_export_leaves_no_object(
        db: asyncpg.Pool, objects: ObjectStore) -> None:
    body = payload(select_columns=["uuid"])
    with pytest.raises(RuntimeError, match="database went away"):
        await export(db, ExportEnv(objects, batch_size=1), body, JOB,
                     FailingAfter(2))  # type: ignore[arg-type]
    with pytest.raises(ObjectNotFound):
        await objects.stat(f"uploads/{JOB}.csv")


async def test_one_connection_pool_reads_with_one_cursor(
        db: asyncpg.Pool, db_dsn: str, objects: ObjectStore) -> None:
    await db.execute("INSERT INTO contacts (uuid, first_name) VALUES "
                     "('ffffffff-0000-4000-8000-000000000001', 'high'), "
                     "('80000000-0000-4000-8000-000000000000', 'middle')")
    expected = [["first_name"], ["high"], ["middle"], ["bob"], ["mary"], ["jon"], ["jane"],
                ["john"]]
    small = await asyncpg.create_pool(db_dsn, min_size=1, max_size=1)
    try:
        result = await export(small, ExportEnv(objects, batch_size=2),
                              payload(select_columns=["first_name"]), JOB)
    finally:
        await small.close()
    assert await read_csv(objects, result["s3_key"]) == expected
    result = await export(db, ExportEnv(objects, batch_size=2),  # two halves, same file
                          payload(select_columns=["first_name"]), JOB)
    assert await read_csv(objects, result["s3_key"]) == expected
