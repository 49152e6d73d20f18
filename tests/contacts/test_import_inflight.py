"""insert_csv_file keeps the next batch loaded on a second connection while one commits."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bench.csvgen import csv_bytes
from services.contacts import importer
from services.contacts.batch import Batcher
from services.contacts.mapping import plan_header
from services.contacts.reader import Record
from services.contacts.store import ImportStore
from services.shared.objects import write_bytes
from supervisor.store.db import create_pool
from tests.contacts.importsupport import context, resources, run_import, snapshot

# Other sessions of this database inside a transaction: the import's loading connection.
OPEN_ELSEWHERE = ("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                  "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL")


async def test_the_next_batch_is_loaded_while_the_last_one_is_saved(
        pool: asyncpg.Pool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "SAVE_EVERY", 0.0)
    data, gen = csv_bytes(1000, bad_every=97)
    async with resources(pool, tmp_path, batch_size_for_insertion=100) as res:
        await write_bytes(res.objects, "p.csv", data)
        ctx = context(res, pool)
        seen: list[tuple[int, int]] = []  # (line saved, other sessions in a transaction)
        saver = ctx._saver

        async def watching(state: dict[str, Any]) -> None:
            seen.append((state["line"], await pool.fetchval(OPEN_ELSEWHERE)))
            assert saver is not None
            await saver(state)

        ctx._saver = watching
        result = await run_import(ctx, "p.csv")
    # every batch but the last had its successor loaded, uncommitted, when it was saved
    assert [open_ for _, open_ in seen[:9]] == [1] * 9
    assert [open_ for _, open_ in seen[9:]] == [0, 0]  # the last batch; the finished state
    assert [line for line, _ in seen[:10]] == [101 + 100 * n for n in range(10)]
    assert result["rows"] == gen.rows
    assert [b["line"] for b in result["first_bad_rows"]] == gen.bad_lines
    assert await pool.fetchval("SELECT count(*) FROM contacts") == len(gen.contacts)


async def test_without_a_spare_connection_the_import_writes_on_one(
        pool: asyncpg.Pool, db_dsn: str, tmp_path: Path) -> None:
    data, gen = csv_bytes(600, bad_every=97)
    single = await create_pool(db_dsn, min_size=1, max_size=1)
    try:
        async with resources(single, tmp_path, batch_size_for_insertion=100) as res:
            await write_bytes(res.objects, "one.csv", data)
            result = await run_import(context(res, single), "one.csv")
            alone = await snapshot(single)
        await pool.execute("TRUNCATE companies, contacts, filters_data")
        async with resources(pool, tmp_path, batch_size_for_insertion=100) as res:
            again = await run_import(context(res, pool), "one.csv")
    finally:
        await single.close()
    assert result["rows"] == gen.rows == again["rows"]
    assert [b["line"] for b in result["first_bad_rows"]] == gen.bad_lines
    assert await snapshot(pool) == alone


async def test_a_company_committed_unchanged_is_not_sent_again(pool: asyncpg.Pool) -> None:
    header = plan_header(["first_name", "company", "employees"])
    rows = [["ann", "Acme", "10"], ["bob", "Beta", "20"], ["cy", "Gamma", "30"]]
    batch = next(Batcher(header, 10).batches(
        Record(n + 2, 0, fields) for n, fields in enumerate(rows)))
    acme, beta, _ = batch.companies.items()
    changed = {beta[0]: (*beta[1][:2], 99, *beta[1][3:])}  # Beta committed with other values
    async with pool.acquire() as conn:
        store = ImportStore(conn)
        await store.prepare()
        tr = await store.load(uuid.uuid4(), batch, skip={acme[0]: acme[1]} | changed)
        sent = await conn.fetch("SELECT name FROM companies_import ORDER BY name")
        await store.apply(tr, batch)
    assert [r["name"] for r in sent] == ["beta", "gamma"]  # company names are lower-cased
    assert await pool.fetchval("SELECT count(*) FROM contacts") == 3
