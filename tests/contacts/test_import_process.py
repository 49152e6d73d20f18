"""Large objects are parsed in a child process: the same rows, bad rows, errors and resume."""

from __future__ import annotations

import gzip
from pathlib import Path

import asyncpg
import pytest

from bench.csvgen import csv_bytes
from services.contacts import importer, pipeline
from services.shared.objects import write_bytes
from supervisor.errors import PermanentError
from tests.contacts.importsupport import Crash, context, resources, run_import, snapshot

CHILD = {"parse_in_child_from_mb": 1}  # every object below is over 1 MB


@pytest.fixture(autouse=True)
def no_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    async def refuse(*args: object) -> None:
        raise AssertionError("parsed in a thread, not in the child process")

    monkeypatch.setattr(pipeline, "_in_thread", refuse)


async def test_a_child_process_imports_what_a_thread_does(pool: asyncpg.Pool,
                                                          tmp_path: Path) -> None:
    data, gen = csv_bytes(5000, bad_every=97)
    async with resources(pool, tmp_path, batch_size_for_insertion=100, **CHILD) as res:
        await write_bytes(res.objects, "p.csv.gz", gzip.compress(data, 0))
        result = await run_import(context(res, pool), "p.csv.gz")
    assert result["rows"] == gen.rows
    assert [b["line"] for b in result["first_bad_rows"]] == gen.bad_lines
    assert await pool.fetchval("SELECT count(*) FROM contacts") == len(gen.contacts)


async def test_a_bad_header_in_a_child_is_still_permanent(pool: asyncpg.Pool,
                                                          tmp_path: Path) -> None:
    async with resources(pool, tmp_path, **CHILD) as res:
        await write_bytes(res.objects, "h.csv", b"foo,bar\n" + b"1,2\n" * 400_000)
        with pytest.raises(PermanentError, match="none of the known columns"):
            await run_import(context(res, pool), "h.csv")


async def test_a_crash_resumes_in_a_child(pool: asyncpg.Pool, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "SAVE_EVERY", 0.0)
    data, _ = csv_bytes(5000, bad_every=101)
    async with resources(pool, tmp_path, batch_size_for_insertion=100, **CHILD) as res:
        await write_bytes(res.objects, "c.csv", data)
        saved: list[dict[str, object]] = []
        ctx = context(res, pool, crash_after=5, saved=saved)
        with pytest.raises(Crash):
            await run_import(ctx, "c.csv")
        resumed = await run_import(context(res, pool, job=ctx.uuid, state=saved[-1]), "c.csv")
        partial = await snapshot(pool)
        await pool.execute("TRUNCATE companies, contacts, filters_data")
        clean = await run_import(context(res, pool), "c.csv")
    assert await snapshot(pool) == partial
    assert resumed["rows"] == clean["rows"] and resumed["bad_rows"] == clean["bad_rows"]
