"""insert_csv_file on a real PostgreSQL and object store: rows, bad rows, idempotence, resume."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import asyncpg
import pytest

from bench.csvgen import csv_bytes
from services.contacts import importer
from services.shared.objects import read_bytes, write_bytes
from supervisor.errors import PermanentError
from tests.contacts.importsupport import Crash, context, resources, run_import, snapshot


async def test_an_import_lands_every_good_row_and_reports_bad_lines(
        pool: asyncpg.Pool, tmp_path: Path) -> None:
    data, gen = csv_bytes(1200, bad_every=97)
    async with resources(pool, tmp_path, batch_size_for_insertion=100) as res:
        await write_bytes(res.objects, "uploads/people.csv", data)
        result = await run_import(context(res, pool), "uploads/people.csv")
        errors = await read_bytes(res.objects, "uploads/people.csv.errors.csv")
    assert await pool.fetchval("SELECT count(*) FROM contacts") == len(gen.contacts)
    assert await pool.fetchval("SELECT count(*) FROM companies") == len(gen.companies)
    assert result["rows"] == gen.rows
    assert result["bad_rows"] == len(gen.bad_lines)
    assert [b["line"] for b in result["first_bad_rows"]] == gen.bad_lines
    # a company named by many rows, and a contact repeated in a later batch, count once
    assert (result["companies"], result["contacts"]) == (len(gen.companies), len(gen.contacts))
    assert result["messages"] == (f"{gen.rows} rows imported, {len(gen.companies)} companies, "
                                  f"{len(gen.contacts)} contacts, {len(gen.bad_lines)} bad rows")
    assert result["errors_s3_key"] == "uploads/people.csv.errors.csv"
    report = list(csv.reader(io.StringIO(errors.decode())))
    assert report[0] == ["line", "reason", "row"]
    assert [int(r[0]) for r in report[1:]] == gen.bad_lines
    assert report[1][1] == "has 3 fields, the header has 36"
    assert report[1][2] == "only,three,fields"
    assert await pool.fetchval("SELECT count(*) FROM import_bad_rows") == 0
    facets = await pool.fetchval(
        "SELECT count(*) FROM filters_data WHERE service = 'company' AND filter_key = 'country'")
    assert facets == 5  # United States twice in PLACES


async def test_reimporting_the_same_file_changes_no_row(
        pool: asyncpg.Pool, tmp_path: Path) -> None:
    data, _ = csv_bytes(800)
    async with resources(pool, tmp_path, batch_size_for_insertion=64) as res:
        await write_bytes(res.objects, "a.csv", data)
        first = await run_import(context(res, pool), "a.csv")
        before = await snapshot(pool)
        versions = await pool.fetch("SELECT uuid, xmin::text, updated_at FROM contacts "
                                    "UNION ALL SELECT uuid, xmin::text, updated_at FROM companies")
        again = await run_import(context(res, pool), "a.csv")
    assert await snapshot(pool) == before
    assert sorted(versions) == sorted(await pool.fetch(
        "SELECT uuid, xmin::text, updated_at FROM contacts "
        "UNION ALL SELECT uuid, xmin::text, updated_at FROM companies"))
    assert first["contacts"] > 0
    assert (again["companies"], again["contacts"]) == (0, 0)  # what changed: nothing
    assert again["rows"] == first["rows"]


async def test_a_gzip_file_imports_like_the_plain_one(pool: asyncpg.Pool, tmp_path: Path) -> None:
    data, gen = csv_bytes(500, bad_every=50)
    async with resources(pool, tmp_path) as res:
        await write_bytes(res.objects, "z.csv.gz", gzip.compress(b"\xef\xbb\xbf" + data))
        result = await run_import(context(res, pool), "z.csv.gz")
    assert result["rows"] == gen.rows
    assert [b["line"] for b in result["first_bad_rows"]] == gen.bad_lines
    assert await pool.fetchval("SELECT count(*) FROM contacts") == len(gen.contacts)


async def test_a_crashed_import_resumes_after_its_last_checkpoint(
        pool: asyncpg.Pool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "SAVE_EVERY", 0.0)
    data, gen = csv_bytes(2000, bad_every=101)
    for name in ("plain.csv", "zipped.csv.gz"):
        await pool.execute("TRUNCATE companies, contacts, filters_data")  # the last loop's
        async with resources(pool, tmp_path, batch_size_for_insertion=100) as res:
            blob = gzip.compress(data) if name.endswith(".gz") else data
            await write_bytes(res.objects, name, blob)
            saved: list[dict[str, object]] = []
            ctx = context(res, pool, crash_after=7, saved=saved)
            with pytest.raises(Crash):
                await run_import(ctx, name)
            assert saved[-1]["line"] < 2001
            resumed = await run_import(context(res, pool, job=ctx.uuid, state=saved[-1]), name)
            partial = await snapshot(pool)
            await pool.execute("TRUNCATE companies, contacts, filters_data")
            clean = await run_import(context(res, pool), name)
        assert await snapshot(pool) == partial
        assert resumed == clean  # the counts too: the checkpoint carries them across the crash
        assert [b["line"] for b in resumed["first_bad_rows"]] == gen.bad_lines


@pytest.mark.parametrize(("key", "content", "says"), [
    ("missing.csv", None, "does not exist in bucket"),
    ("empty.csv", b"", "is empty (0 bytes)"),
    ("blank.csv", b"\r\n\r\n", "no header row"),
    ("other.csv", b"foo,bar\n1,2\n", "none of the known columns"),
    ("broken.csv.gz", gzip.compress(b"email\na@b.c\n" * 100)[:-9], "not a whole gzip stream"),
])
async def test_unusable_objects_fail_permanently_naming_the_key(
        pool: asyncpg.Pool, tmp_path: Path, key: str, content: bytes | None, says: str) -> None:
    async with resources(pool, tmp_path) as res:
        if content is not None:
            await write_bytes(res.objects, key, content)
        with pytest.raises(PermanentError) as err:
            await run_import(context(res, pool), key)
    assert says in str(err.value) and repr(key) in str(err.value)


async def test_a_missing_bucket_fails_permanently(pool: asyncpg.Pool, tmp_path: Path) -> None:
    async with resources(pool, tmp_path) as res:
        with pytest.raises(PermanentError, match=r"bucket 'nope-bucket' of s3 key 'a\.csv'"):
            await run_import(context(res, pool), "a.csv", bucket="nope-bucket")


async def test_a_row_the_database_refuses_is_a_bad_row_and_the_rest_lands(
        pool: asyncpg.Pool, tmp_path: Path) -> None:
    # a stand-in for any value PostgreSQL refuses that the cleaning rules let through
    await pool.execute("ALTER TABLE contacts ADD CONSTRAINT no_refusals "
                       "CHECK (title IS DISTINCT FROM 'refuse me')")
    data = (b"first_name,last_name,title,company\r\n" + b"ann,lee,cto,acme\r\n" +
            b"bob,ray,refuse me,acme\r\n" + b"cy,li,vp,beta\r\n")
    async with resources(pool, tmp_path) as res:
        await write_bytes(res.objects, "r.csv", data)
        result = await run_import(context(res, pool), "r.csv")
    assert [b["line"] for b in result["first_bad_rows"]] == [3]
    assert "no_refusals" in result["first_bad_rows"][0]["reason"]
    assert sorted(r["first_name"] for r in await pool.fetch("SELECT first_name FROM contacts")) \
        == ["ann", "cy"]
    assert await pool.fetchval("SELECT count(*) FROM companies") == 2


async def test_a_checkpoint_at_the_very_end_finishes_without_reading(
        pool: asyncpg.Pool, tmp_path: Path, s3_endpoint: str) -> None:
    from tests.contacts.conftest import make_bucket

    await make_bucket(s3_endpoint, "end-bucket")
    data, gen = csv_bytes(300)
    async with resources(pool, tmp_path, endpoint=s3_endpoint, bucket="end-bucket") as res:
        await write_bytes(res.objects, "e.csv", data)
        saved: list[dict[str, object]] = []
        ctx = context(res, pool, saved=saved)
        first = await run_import(ctx, "e.csv")
        last = {**saved[-1], "finished": False}  # as if it crashed before finishing
        assert last["offset"] == len(data)
        again = await run_import(context(res, pool, job=ctx.uuid, state=last), "e.csv")
    assert again["rows"] == first["rows"] == gen.rows
