"""insert_csv_file through the daemon vs `psql \\copy` into an unindexed text staging table.

    .venv/bin/python -m bench.csv_import                    # 1,000,000 rows
    .venv/bin/python -m bench.csv_import --rows 200000 --flat 1000000   # RSS, small vs large

Generates a realistic people export (every known column, 20 contacts per company, 2.5 %
duplicate rows, 2 % bad rows: numbers too big to store, which COPY into text still loads) into
the directory object store, starts `supervisor run` as a subprocess, creates the job, and
times it from the job's started_at to finished_at; peak RSS is
the daemon's VmHWM. In the same run `psql \\copy` loads the same file into a staging table of
text columns without indexes, timed wall-clock; then the imported (cleaned) rows are exported
and `\\copy`ed into empty copies of companies and contacts with all their indexes, the writes
alone that any importer of the file must make.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

from bench.common import row, scratch_database
from bench.csvgen import write_file
from services.contacts.mapping import KNOWN_COLUMNS
from supervisor.store.db import create_pool
from supervisor.store.jobs import JobStore

ROOT = Path(__file__).resolve().parents[1]
CHILD = False  # --child: parse in a child process (PARSE_IN_CHILD_FROM_MB=1)


def peak_rss_mb(pid: int) -> float:
    """VmHWM of a live process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def daemon(dsn: str, data_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    """`supervisor run` with the worker lane only, on the scratch database."""
    env = {**os.environ, "PARSE_IN_CHILD_FROM_MB": "1" if CHILD else "0",
           "DATABASE_URL": dsn, "DATA_DIR": str(data_dir), "PARALLEL_JOBS": "1",
           "PYTHONPATH": str(ROOT), "LOG_FORMAT": "json", "JOB_WORKER_POLL_MS": "200",
           "SUPERVISOR_CONFIG": str(ROOT / "tests" / "e2e" / "empty.toml")}
    return subprocess.Popen([sys.executable, "-m", "supervisor", "run", "--only",
                             "first_time,rescue"], env=env, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT, cwd=ROOT)


async def import_once(dsn: str, data_dir: Path, key: str) -> tuple[float, float, dict[str, object]]:
    """(seconds, peak RSS MB, job_response) of one insert_csv_file run by a daemon."""
    proc = daemon(dsn, data_dir, data_dir / f"{Path(key).stem}.log")
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        jobs = JobStore(pool)
        uuid = (await jobs.create("insert_csv_file", {"s3_key": key}))["uuid"]
        peak = 0.0
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the daemon exited {proc.returncode}; see its log")
            peak = max(peak, peak_rss_mb(proc.pid))
            job = await pool.fetchrow("SELECT status, started_at, finished_at, job_response "
                                      "FROM jobs WHERE uuid = $1", uuid)
            assert job is not None
            if job["status"] in ("completed", "dead", "failed", "cancelled"):
                break
            await asyncio.sleep(0.5)
        peak = max(peak, peak_rss_mb(proc.pid))
        if job["status"] != "completed":
            raise RuntimeError(f"import ended {job['status']}: {job['job_response']}")
        seconds = (job["finished_at"] - job["started_at"]).total_seconds()
        return seconds, peak, dict(job["job_response"])
    finally:
        await pool.close()
        proc.terminate()
        proc.wait(60)


def psql_copy(dsn: str, path: Path) -> float:
    """Seconds for `psql \\copy` of the file into a fresh text staging table."""
    cols = ", ".join(f"{c} text" for c in KNOWN_COLUMNS)
    subprocess.run(["psql", dsn, "-qc", f"DROP TABLE IF EXISTS staging; CREATE TABLE staging "
                    f"({cols})"], check=True)
    start = time.perf_counter()
    subprocess.run(["psql", dsn, "-qc", f"\\copy staging FROM '{path}' WITH (FORMAT csv, "
                    "HEADER true)"], check=True)
    return time.perf_counter() - start


def psql_copy_cleaned(dsn: str, tmp: Path) -> float:
    """Seconds for `psql \\copy` of the imported (cleaned) rows into empty copies of companies
    and contacts with all their indexes: the writes any importer of this file must make, without
    its parsing, cleaning, de-duplication or upsert. Run after an import, which made the rows."""
    def psql(*args: str) -> str:
        return subprocess.run(["psql", dsn, "-Atq", *args], check=True, capture_output=True,
                              text=True).stdout.strip()

    columns = {}
    for table in ("companies", "contacts"):
        # every column the import writes: not the identity, not the timestamps
        columns[table] = psql("-c", "SELECT string_agg(column_name, ', ' ORDER BY "
                              "ordinal_position) FROM information_schema.columns WHERE "
                              f"table_name = '{table}' AND column_name NOT IN "
                              "('id', 'created_at', 'updated_at', 'deleted_at')")
        psql("-c", f"DROP TABLE IF EXISTS floor_{table}",
             "-c", f"CREATE TABLE floor_{table} (LIKE {table} INCLUDING ALL)",
             "-c", f"\\copy (SELECT {columns[table]} FROM {table}) TO '{tmp / table}.csv' "
                   "WITH (FORMAT csv)")
    start = time.perf_counter()
    psql(*(arg for table in ("companies", "contacts") for arg in (
        "-c", f"\\copy floor_{table} ({columns[table]}) FROM '{tmp / table}.csv' "
              "WITH (FORMAT csv)")))
    return time.perf_counter() - start


async def truncate(dsn: str) -> None:
    """Empty the imported tables, so the next import inserts as the first did."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("TRUNCATE companies, contacts, filters_data")
    finally:
        await conn.close()


def place(data_dir: Path, key: str, rows: int) -> tuple[Path, int]:
    """Generate the CSV straight into the directory store; (path, data rows written)."""
    path = data_dir / "objects" / "default" / key
    path.parent.mkdir(parents=True, exist_ok=True)
    write_file(path, rows, bad_every=50, bad_values=True, dup_every=40)
    return path, rows


async def main(rows: int, flat: int | None) -> None:
    """Run the comparison and print it."""
    with tempfile.TemporaryDirectory(prefix="bench-csv-") as tmp:
        data_dir = Path(tmp)
        path, total = place(data_dir, "bench/people.csv", rows)
        async with scratch_database("bench_csv") as dsn:
            seconds, peak, response = await import_once(dsn, data_dir, "bench/people.csv")
            copy_seconds = psql_copy(dsn, path)
            floor_seconds = psql_copy_cleaned(dsn, data_dir)
            big = None
            if flat:
                await truncate(dsn)
                big_path, _ = place(data_dir, "bench/big.csv", flat)
                big = await import_once(dsn, data_dir, "bench/big.csv")
                big_path.unlink()
    ours, theirs = total / seconds, total / copy_seconds
    print(f"insert_csv_file: {response['messages']}")
    print(row("measure", "insert_csv_file", "psql \\copy"))
    print(row(f"rows/s, {total:,} rows", f"{ours:,.0f}", f"{theirs:,.0f}",
              f"ratio {ours / theirs:.2f} (target >= 0.5)"))
    print(row("seconds", f"{seconds:.1f}", f"{copy_seconds:.1f}"))
    floor = total / floor_seconds
    print(row("\\copy of the cleaned rows into the indexed tables", "", f"{floor:,.0f}",
              f"{floor_seconds:.1f} s; {floor / theirs:.2f} of the staging \\copy, "
              f"ours {ours / floor:.2f} of it"))
    print(row("daemon peak RSS", f"{peak:.0f} MB", "", "target < 300 MB"))
    if big is not None and flat:
        print(row(f"daemon peak RSS, {flat:,} rows", f"{big[1]:.0f} MB", "",
                  f"{(big[1] / peak - 1) * 100:+.1f} % vs {total:,} rows (target within 10 %)"))
        print(row(f"rows/s, {flat:,} rows", f"{flat / big[0]:,.0f}"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--flat", type=int, default=None,
                        help="also import a file of this many rows and compare peak RSS")
    parser.add_argument("--child", action="store_true",
                        help="parse in a child process (PARSE_IN_CHILD_FROM_MB=1)")
    args = parser.parse_args()
    CHILD = args.child
    asyncio.run(main(args.rows, args.flat))
