"""A 200,000-row import through the directory store and through S3 (moto's server)."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from bench.csvgen import write_file
from tests.contacts.conftest import make_bucket
from tests.contacts.importsupport import context, resources, run_import

ROWS = 200_000


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            yield chunk


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("store", ["directory", "s3"])
async def test_200k_rows(pool: asyncpg.Pool, tmp_path: Path, store: str,
                         request: pytest.FixtureRequest) -> None:
    source = tmp_path / "people.csv.gz"
    gen = write_file(source, ROWS, bad_every=5000)
    options: dict[str, str] = {}
    if store == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        await make_bucket(endpoint, "big-import")
        options = {"endpoint": endpoint, "bucket": "big-import"}
    async with resources(pool, tmp_path, **options) as res:  # type: ignore[arg-type]
        await res.objects.write("uploads/people.csv.gz", _chunks(source))
        result = await run_import(context(res, pool), "uploads/people.csv.gz")
        errors = b"".join([c async for c in res.objects.read("uploads/people.csv.gz.errors.csv")])
    assert result["rows"] == gen.rows
    assert result["bad_rows"] == len(gen.bad_lines) == ROWS // 5000
    assert len(errors.splitlines()) == 1 + len(gen.bad_lines)
    assert await pool.fetchval("SELECT count(*) FROM contacts") == len(gen.contacts)
    assert await pool.fetchval("SELECT count(*) FROM companies") == len(gen.companies)
    assert gzip.decompress(source.read_bytes()).count(b"\n") == ROWS + 1
