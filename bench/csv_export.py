"""export_csv_file against PostgreSQL's own COPY TO: rows/s, and the export's peak memory.

    .venv/bin/python -m bench.csv_export [--rows 1000000] [--all]

Fills a scratch database with `--rows` contacts (half of them in the USA), exports those of
`country = usa` (every row with --all) with 8 columns through the job's code path into the
directory object store, and in the same run times `COPY (SELECT the same columns ... the same
filter ORDER BY uuid DESC) TO STDOUT` through psql into a file. RSS is sampled during the export.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path
from uuid import uuid4

import asyncpg

from bench.common import row, scratch_database
from services.contacts.export import ExportEnv, ExportPayload, export
from services.shared.objects import open_object_store

COLUMNS = ["uuid", "first_name", "last_name", "email", "title", "departments", "country",
           "created_at"]
FILL = """
INSERT INTO contacts (uuid, first_name, last_name, email, title, departments, country, city,
                      seniority)
SELECT gen_random_uuid(), 'first' || i, 'last' || (i % 9973), 'person' || i || '@example.com',
       (ARRAY['Chief Executive Officer', 'Software Engineer', 'Sales, EMEA', 'VP "Growth"'])
         [1 + i % 4], ARRAY['dept' || (i % 7), 'team' || (i % 3)],
       CASE WHEN i % 2 = 0 THEN 'usa' ELSE 'germany' END, 'city' || (i % 500), 'senior'
FROM generate_series($1::int, $2::int) AS i
"""


def rss_mb() -> float:
    """This process's resident memory now, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def fill(dsn: str, rows: int) -> None:
    """`rows` contacts, without the trigram indexes (the export does not use them)."""
    conn = await asyncpg.connect(dsn)
    try:
        for name in ("first_name", "last_name", "title", "email"):
            await conn.execute(f"DROP INDEX IF EXISTS contacts_{name}_trgm")
        step = 200_000
        for start in range(1, rows + 1, step):
            await conn.execute(FILL, start, min(rows, start + step - 1))
        await conn.execute("VACUUM ANALYZE contacts")
    finally:
        await conn.close()


async def ours(dsn: str, where: dict[str, object], out_dir: Path,
               batch: int) -> tuple[float, int, float]:
    """(seconds, rows, peak RSS MB during the export) of one export."""
    payload = ExportPayload.model_validate(
        {"service": "contact", "vql": {"select_columns": COLUMNS, "where": where}})
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    peak = rss_mb()

    async def sample() -> None:
        nonlocal peak
        while True:
            peak = max(peak, rss_mb())
            await asyncio.sleep(0.05)

    try:
        async with open_object_store(kind="directory", data_dir=out_dir) as objects:
            sampler = asyncio.create_task(sample())
            t0 = time.perf_counter()
            result = await export(pool, ExportEnv(objects, batch_size=batch), payload, uuid4())
            seconds = time.perf_counter() - t0
            sampler.cancel()
    finally:
        await pool.close()
    return seconds, int(result["rows"]), max(peak, rss_mb())


def copy_to(dsn: str, condition: str, out: Path, serial: bool = False) -> tuple[float, int]:
    """(seconds, rows) of psql's COPY TO STDOUT of the same rows into a file."""
    # serial: without parallel workers, which PostgreSQL never gives a cursor's query
    sql = (f"COPY (SELECT {', '.join(COLUMNS)} FROM contacts WHERE deleted_at IS NULL AND "
           f"{condition} ORDER BY uuid DESC) TO STDOUT WITH (FORMAT csv, HEADER)")
    if serial:
        sql = "SET max_parallel_workers_per_gather = 0; " + sql
    t0 = time.perf_counter()
    with out.open("wb") as f:
        subprocess.run(["psql", "-X", "-q", dsn, "-c", sql], stdout=f, check=True)
    seconds = time.perf_counter() - t0
    with out.open("rb") as f:
        lines = sum(1 for _ in f) - 1
    return seconds, lines


async def main(rows: int, every: bool, rounds: int, batch: int) -> None:
    """Fill, then alternate COPY TO and our export; best of `rounds` each."""
    where: dict[str, object] = {} if every else {"keyword_match": {"must": {"country": "usa"}}}
    condition = "TRUE" if every else "country = 'usa'"
    async with scratch_database("bench_export") as dsn:
        t0 = time.perf_counter()
        await fill(dsn, rows)
        print(f"filled {rows:,} contacts in {time.perf_counter() - t0:.1f} s")
        with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
            base, serial, mine = [], [], []
            for _ in range(rounds):
                base.append(copy_to(dsn, condition, Path(tmp) / "copy.csv"))
                mine.append(await ours(dsn, where, Path(tmp), batch))
                serial.append(copy_to(dsn, condition, Path(tmp) / "copy.csv", serial=True))
    copy_s, copy_rows = min(base)
    serial_s = min(serial)[0]
    our_s, our_rows, _ = min(mine)
    peak = max(m[2] for m in mine)
    assert copy_rows == our_rows, (copy_rows, our_rows)
    print(row("measure", "export_csv_file", "psql COPY TO"))
    print(row(f"rows exported ({len(COLUMNS)} columns, pages of {batch})", f"{our_rows:,}",
              f"{copy_rows:,}"))
    print(row("rows/s (best of rounds)", f"{our_rows / our_s:,.0f}", f"{copy_rows / copy_s:,.0f}"))
    print(row("ours as a fraction of COPY TO", f"{copy_s / our_s:.2f}", "", "target >= 0.6"))
    print(row("COPY TO without parallel workers, rows/s", "", f"{copy_rows / serial_s:,.0f}"))
    print(row("ours as a fraction of that", f"{serial_s / our_s:.2f}"))
    print(row("peak RSS during the export", f"{peak:.0f} MB", "", "target < 200 MB"))
    print(row("process max RSS (getrusage)",
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=int(os.environ.get("BENCH_ROWS", 1_000_000)))
    parser.add_argument("--all", action="store_true", help="export every row, not half")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch", type=int, default=500, help="BATCH_SIZE_FOR_INSERTION")
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.all, args.rounds, args.batch))
