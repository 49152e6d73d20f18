"""Large exports: 100,000 rows through each store compared with a direct query; aborted
uploads; keyset pages under concurrent inserts."""

from __future__ import annotations

import csv
import io
from typing import Any
from uuid import UUID

import aioboto3
import asyncpg
import pytest

from services.contacts.csvcells import cell_text
from services.contacts.export import ExportEnv, ExportPayload, export
from services.shared.objects import ObjectNotFound, ObjectStore, read_bytes
from tests.integration.vql_support import ensure_schema

JOB = UUID("22222222-2222-4333-8444-555555555555")
COLUMNS = ["uuid", "first_name", "last_name", "email", "title", "departments", "country",
           "created_at"]

_FILL = """
INSERT INTO contacts (uuid, first_name, last_name, email, title, departments, country)
SELECT gen_random_uuid(), 'first' || i, 'last, ' || i, 'p' || i || '@example.com',
       CASE WHEN i % 7 = 0 THEN '=formula ' || i ELSE 'title "' || md5(i::text) || '"' END,
       ARRAY['dept' || (i % 5), 'team' || (i % 3)],
       CASE WHEN i % 2 = 0 THEN 'usa' ELSE 'germany' END
FROM generate_series($1::int, $2::int) AS i
"""


async def fill(pool: asyncpg.Pool, start: int, end: int) -> None:
    await pool.execute(_FILL, start, end)


def expected(records: list[asyncpg.Record]) -> list[list[str]]:
    return [[cell_text(str(r[c]) if c == "uuid" else r[c], formulas_off=True) for c in COLUMNS]
            for r in records]


async def direct(pool: asyncpg.Pool, where: str = "TRUE") -> list[list[str]]:
    records = await pool.fetch(f"SELECT {', '.join(COLUMNS)} FROM contacts WHERE {where} "
                               "AND deleted_at IS NULL ORDER BY uuid DESC")
    return expected(records)


async def read_csv(objects: ObjectStore, key: str) -> list[list[str]]:
    text = (await read_bytes(objects, key)).decode()
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.slow
async def test_100k_rows_match_a_direct_query(pool: asyncpg.Pool, objects: ObjectStore) -> None:
    await ensure_schema(pool)
    await fill(pool, 1, 100_000)
    body = ExportPayload.model_validate({"service": "contact", "vql": {
        "select_columns": COLUMNS, "where": {"keyword_match": {"must": {"country": "USA"}}}}})
    result = await export(pool, ExportEnv(objects, batch_size=500), body, JOB)
    rows = await read_csv(objects, result["s3_key"])
    assert rows[0] == COLUMNS
    assert rows[1:] == await direct(pool, "country = 'usa'")
    assert result["rows"] == 50_000
    body = ExportPayload.model_validate({"service": "contact",
                                         "vql": {"select_columns": COLUMNS}})
    result = await export(pool, ExportEnv(objects, batch_size=1000), body, JOB)
    rows = await read_csv(objects, result["s3_key"])
    assert len(rows) == 100_001 and rows[1:] == await direct(pool)


class InsertingContext:
    """Progress reports that insert new contacts between pages, as a busy import would."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool, self.next = pool, 1_000_000

    async def progress(self, done: float, total: float | None = None, message: str = "") -> None:
        await fill(self.pool, self.next, self.next + 19)
        self.next += 20

    def should_stop(self) -> bool:
        return False


async def test_keyset_never_skips_or_repeats_under_inserts(
        pool: asyncpg.Pool, objects: ObjectStore) -> None:
    await ensure_schema(pool)
    await fill(pool, 1, 3000)
    before = {str(u) for u in await pool.fetchval("SELECT array_agg(uuid) FROM contacts")}
    body = ExportPayload.model_validate({"service": "contact",
                                         "vql": {"select_columns": ["uuid"]}})
    ctx: Any = InsertingContext(pool)
    result = await export(pool, ExportEnv(objects, batch_size=100), body, JOB, ctx)
    got = [r[0] for r in (await read_csv(objects, result["s3_key"]))[1:]]
    assert len(got) == len(set(got)), "a row was written twice"
    assert before <= set(got), "a row present from the start was skipped"
    assert got == sorted(got, reverse=True)
    assert ctx.next > 1_000_000 + 20 * 25  # inserts really happened during the export


class FailAfterRows:
    """Progress that raises once `rows` rows are written (after multipart has begun)."""

    def __init__(self, rows: int) -> None:
        self.rows = rows

    async def progress(self, done: float, total: float | None = None, message: str = "") -> None:
        if done >= self.rows:
            raise RuntimeError("lost the database connection")

    def should_stop(self) -> bool:
        return False


@pytest.mark.slow
async def test_failed_s3_export_aborts_its_multipart_upload(
        pool: asyncpg.Pool, objects: ObjectStore, s3_endpoint: str) -> None:
    if objects.kind != "s3":
        pytest.skip("multipart uploads are S3's")
    await ensure_schema(pool)
    await fill(pool, 1, 100_000)
    body = ExportPayload.model_validate({"service": "contact",
                                         "vql": {"select_columns": COLUMNS}})
    ctx: Any = FailAfterRows(90_000)  # ~12 MB written: past the first 8 MiB part
    with pytest.raises(RuntimeError, match="lost the database connection"):
        await export(pool, ExportEnv(objects, batch_size=1000), body, JOB, ctx)
    with pytest.raises(ObjectNotFound):
        await objects.stat(f"uploads/{JOB}.csv")
    async with aioboto3.Session().client("s3", endpoint_url=s3_endpoint) as s3:
        uploads = await s3.list_multipart_uploads(Bucket=objects.default_bucket)
    assert uploads.get("Uploads", []) == []
