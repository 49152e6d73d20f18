"""How soon claiming resumes after a PostgreSQL outage (issue 8, item 4), on a private cluster.

    python -m bench.outage [--outage 40] [--rounds 1]

Stops a private PostgreSQL (initdb on a free port, never the shared server) for `--outage`
seconds under an idle daemon, starts it again, creates one job at once and times how long the
job takes to complete. The baseline is what the loops did before: a backoff doubling from 0.5 s
up to 30 s, not cut short when the database answers, so the next try came as late as the
printed wait (the issue saw up to 30 s).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from pathlib import Path

import anyio
import asyncpg

from bench.common import median, row
from supervisor.config import load_config
from supervisor.daemon import Daemon
from supervisor.families import discover
from supervisor.runtime.eventloop import backend_options
from supervisor.runtime.waiting import Backoff
from supervisor.store.db import create_pool
from supervisor.store.jobs import JobStore
from supervisor.store.migrate import migrate
from tests.chaos.servers import PrivateCluster


def old_wait_after(outage: float, heartbeat: float) -> float:
    """Worst-case seconds the old loops still slept after an outage of `outage` seconds.

    The LISTEN connection's reconnect loop (first try at the cut, backoff 0.5 s doubling to
    30 s) is what woke the idle runners: the database is back at `outage`, the next try is at
    the first point of the backoff schedule past it.
    """
    backoff, t = Backoff(), 0.0
    while t < outage:
        t += backoff.next()
    return max(t - outage, heartbeat)


async def one_round(cluster: PrivateCluster, outage: float) -> float:
    """Seconds from the database answering again to a job created then being completed."""
    dsn = cluster.dsn("bench")
    config = load_config(env={}, path=Path("/nonexistent")).with_overrides(
        database_url=dsn, job_worker_poll_ms=600_000, node_heartbeat_seconds=1.0,
        node_stale_seconds=300.0)
    daemon = Daemon(config, discover(), only=["first_time"])
    task = asyncio.create_task(daemon.run())
    await daemon.started.wait()
    await asyncio.to_thread(cluster.stop)
    await asyncio.sleep(outage)
    await asyncio.to_thread(cluster.start)
    back = time.perf_counter()
    pool = await create_pool(dsn, min_size=1, max_size=2)
    job = await JobStore(pool).create("noop", {})
    while await pool.fetchval("SELECT status FROM jobs WHERE uuid = $1", job["uuid"]) != \
            "completed":
        await asyncio.sleep(0.01)
    resumed = time.perf_counter() - back
    await pool.close()
    daemon.request_stop("bench done")
    await task
    return resumed


async def main(outage: float, rounds: int) -> None:
    """Run the rounds and print ours beside the old schedule."""
    logging.basicConfig(level=logging.ERROR)
    cluster = PrivateCluster()
    cluster.init()
    cluster.start()
    try:
        admin = await asyncpg.connect(cluster.dsn())
        await admin.execute("CREATE DATABASE bench")
        await admin.close()
        conn = await asyncpg.connect(cluster.dsn("bench"))
        await migrate(conn)
        await conn.close()
        results = [await one_round(cluster, outage) for _ in range(rounds)]
    finally:
        cluster.cleanup()
    ours, old = median(results), old_wait_after(outage, 1.0)
    print(f"claiming after a {outage:g} s PostgreSQL outage, median of {rounds} round(s)")
    print(row("measure", "supervisor", "before", "note"))
    print(row("job created at restart -> completed (s)", f"{ours:.2f}", f"up to {old:.1f}",
              "issue: up to 30 s late"))
    print(row("ratio (before / ours)", f"{old / ours:.0f}x" if ours > 0 else "-"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outage", type=float, default=40.0)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    anyio.run(main, args.outage, args.rounds, backend_options=backend_options())
