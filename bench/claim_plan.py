"""The claim statements' plans and times with finished history: priority through a partial index.

    python -m bench.claim_plan [--history 200000] [--open 20000]

Prints, for the open and the retry claim, the index the plan uses and the median time of a
100-job claim (rolled back, so each run sees the same rows), beside the same claim ordered by id
alone (the order before priorities), and the claim when a job type has a global limit.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import asyncpg

from bench.common import row, scratch_database
from supervisor.store.sql import q

NODE = "00000000-0000-0000-0000-000000000001"


async def _fill(conn: asyncpg.Connection, history: int, open_jobs: int) -> None:
    await conn.execute(
        "INSERT INTO jobs (job_type, status, finished_at, priority) SELECT 'noop', 'completed', "
        "now(), (i % 10) FROM generate_series(1, $1) i", history)
    await conn.execute(
        "INSERT INTO jobs (job_type, priority) SELECT 'noop', (i % 10) "
        "FROM generate_series(1, $1) i", open_jobs)
    await conn.execute(
        "INSERT INTO jobs (job_type, status, run_after, priority) SELECT 'noop', 'failed', "
        "now() - interval '1 s' * (i % 600), (i % 10) FROM generate_series(1, $1) i",
        open_jobs // 10)
    await conn.execute("ANALYZE jobs")


async def _time(conn: asyncpg.Connection, sql: str, rounds: int = 30) -> tuple[float, str]:
    times = []
    for _ in range(rounds):
        tr = conn.transaction()
        await tr.start()
        start = time.perf_counter()
        await conn.fetch(sql, NODE, 100)
        times.append((time.perf_counter() - start) * 1000)
        await tr.rollback()
    plan = await conn.fetch("EXPLAIN " + sql.replace("$1", f"'{NODE}'::uuid").replace("$2", "100"))
    used = sorted({w for r in plan for w in r[0].split() if w.startswith("jobs_")})
    return statistics.median(times), ",".join(used)


async def main(history: int, open_jobs: int) -> None:
    """Fill a scratch database and print the claims' plans and times."""
    async with scratch_database("claimplan") as dsn:
        conn = await asyncpg.connect(dsn)
        await _fill(conn, history, open_jobs)
        print(f"claim of 100 with {history:,} finished, {open_jobs:,} open and "
              f"{open_jobs // 10:,} failed jobs (median of 30, ms)")
        print(row("claim", "ms", "index used"))
        for name in ("claim_open", "claim_retry"):
            ms, used = await _time(conn, q(name))
            print(row(f"{name}, priority order", f"{ms:.2f}", used))
            plain = q(name).replace("ORDER BY priority, ", "ORDER BY ")
            # Before priorities: the open claim's partial index was (id) WHERE status = 'open'.
            await conn.execute("CREATE INDEX jobs_open_id_idx ON jobs (id) WHERE status = 'open'")
            ms, used = await _time(conn, plain)
            await conn.execute("DROP INDEX jobs_open_id_idx")
            print(row(f"{name}, id order (before)", f"{ms:.2f}", used))
        ms = await _time_capped(conn)
        print(row("claim_open, one type capped (global limit)", f"{ms:.2f}", "caps + lock"))
        await conn.close()


async def _time_capped(conn: asyncpg.Connection, rounds: int = 30) -> float:
    """The capped claim with a per-type advisory lock, as claim_capped sends it."""
    times = []
    for _ in range(rounds):
        tr = conn.transaction()
        await tr.start()
        start = time.perf_counter()
        await conn.execute(q("lock_type_limits"), ["noop"])
        await conn.fetch(q("claim_open_capped"), NODE, 100, ["noop"], [100], [1000])
        times.append((time.perf_counter() - start) * 1000)
        await tr.rollback()
    return statistics.median(times)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=200_000)
    parser.add_argument("--open", type=int, default=20_000)
    args = parser.parse_args()
    asyncio.run(main(args.history, args.open))
