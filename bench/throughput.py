"""Throughput and pickup latency of the daemon's own runner and pool, beside a bare asyncpg loop.

    python bench/throughput.py [--jobs 20000] [--rounds 3] [--peers | --history N]

--peers (needs the `bench` extra: pgqueuer) drains the same number of no-op jobs, in the same run
on the same server, with ours (defaults), PgQueuer (batch 100, one process) and the strongest
bare asyncpg loop (4 connections, each claiming 100 with SKIP LOCKED and completing them in one
statement), and compares pickup latency with a bare LISTEN/NOTIFY consumer. It also runs our own
claim and finish statements on our jobs table in that bare loop: what the strongest simple loop
gets out of this schema.

Uses DATABASE_URL (default: the local server) to create scratch databases, dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from pathlib import Path

import anyio
import asyncpg

from bench import peers
from bench.common import median, percentile, row, scratch_database
from supervisor.config import load_config
from supervisor.daemon import Daemon
from supervisor.families import discover
from supervisor.runtime.eventloop import backend_options
from supervisor.store.db import connect, create_pool
from supervisor.store.jobs import JobStore
from supervisor.store.sql import q


async def enqueue(store: JobStore, jobs: int) -> float:
    """Insert `jobs` noop jobs in batches of 1,000; jobs/s."""
    start = time.perf_counter()
    for offset in range(0, jobs, 1000):
        await store.create_many("noop", [{} for _ in range(min(1000, jobs - offset))])
    return jobs / (time.perf_counter() - start)


async def single_creates(store: JobStore, jobs: int, clients: int = 8) -> float:
    """One INSERT per job from `clients` concurrent callers; jobs/s."""
    async def client(n: int) -> None:
        for _ in range(n):
            await store.create("noop", {})

    start = time.perf_counter()
    await asyncio.gather(*(client(jobs // clients) for _ in range(clients)))
    return jobs / (time.perf_counter() - start)


def _daemon(dsn: str, **values: object) -> Daemon:
    config = load_config(env={}, path=Path("/nonexistent")).with_overrides(
        database_url=dsn, job_worker_poll_ms=1000, **values)
    return Daemon(config, discover(), only=["first_time"])


async def drain(dsn: str, jobs: int, drop_index: str | None = None, history: int = 0,
                **values: object) -> tuple[float, float]:
    """Enqueue then drain `jobs` with the daemon's first_time lane; (enqueue/s, drain/s).

    `history`: that many finished jobs in the table first, and ANALYZE run once the backlog is
    in (as autovacuum would during a backlog), so the planner knows a big table of open jobs.
    """
    async with scratch_database() as db:
        pool = await create_pool(db, max_size=4)
        if drop_index is not None:  # what an index costs the write path (see index_cost)
            await pool.execute(f"DROP INDEX {drop_index}")
        store = JobStore(pool)
        if history:
            for offset in range(0, history, 10_000):
                await store.create_many("noop",
                                        [{} for _ in range(min(10_000, history - offset))])
            await pool.execute("UPDATE jobs SET status = 'completed', attempts = 1, "
                               "finished_at = now()")
        enq = await enqueue(store, jobs)
        if history:
            await pool.execute("VACUUM ANALYZE jobs")
        daemon = _daemon(db, **values)
        task = asyncio.create_task(daemon.run())
        await daemon.started.wait()
        start = time.perf_counter()
        assert daemon.runtime is not None
        while daemon.runtime.writer.finished_total < jobs:
            await asyncio.sleep(0.002)
        rate = jobs / (time.perf_counter() - start)
        daemon.request_stop("bench done")
        await task
        done = await pool.fetchval("SELECT count(*) FROM jobs WHERE status = 'completed'")
        assert done == jobs + history, f"only {done - history} of {jobs} completed"
        await pool.close()
    return enq, rate


async def pickup(samples: int, per_second: float) -> list[float]:
    """Create one job at a time at `per_second`; ms from its INSERT to a worker starting it.

    The producer is one plain connection running the store's INSERT, like bare_pickup's: it
    shares the daemon's event loop, so a pool's acquire and session reset on every create
    would be charged to the daemon's pickup.
    """
    async with scratch_database() as db:
        producer = await connect(db)
        daemon = _daemon(db)
        task = asyncio.create_task(daemon.run())
        await daemon.started.wait()
        for _ in range(samples):
            await producer.execute(q("create_job"), "noop", {}, 0, 30, None)
            await asyncio.sleep(1 / per_second)
        while daemon.runtime and daemon.runtime.writer.finished_total < samples:
            await asyncio.sleep(0.01)
        daemon.request_stop("bench done")
        await task
        waits = await producer.fetch(
            "SELECT extract(epoch FROM started_at - created_at) * 1000 AS ms FROM jobs")
        await producer.close()
    return [float(r["ms"]) for r in waits]


async def bare_loop(jobs: int) -> float:
    """A bare asyncpg SKIP LOCKED loop on a scratch table: claim 100, complete in one statement."""
    async with scratch_database() as db:
        conn = await asyncpg.connect(db)
        await conn.execute("CREATE TABLE q (id bigserial PRIMARY KEY, status text NOT NULL)")
        await conn.execute("CREATE INDEX q_open ON q (id) WHERE status = 'open'")
        await conn.execute("INSERT INTO q (status) SELECT 'open' FROM generate_series(1, $1)", jobs)
        claim = await conn.prepare(
            "UPDATE q SET status = 'running' WHERE id IN (SELECT id FROM q WHERE status = 'open' "
            "ORDER BY id LIMIT 100 FOR UPDATE SKIP LOCKED) RETURNING id")
        done = await conn.prepare("UPDATE q SET status = 'done' WHERE id = ANY($1::bigint[])")
        start = time.perf_counter()
        while ids := [r["id"] for r in await claim.fetch()]:
            await done.fetch(ids)
        rate = jobs / (time.perf_counter() - start)
        await conn.close()
    return rate


async def main(jobs: int, rounds: int) -> None:
    """Run every measurement `rounds` times and print medians beside the baselines."""
    logging.disable(logging.WARNING)
    enq, drained, tuned, bare = [], [], [], []
    for _ in range(rounds):
        e, d = await drain("", jobs)
        enq.append(e)
        drained.append(d)
        tuned.append((await drain("", jobs, job_in_queue_size=1000, parallel_jobs=8))[1])
        bare.append(await bare_loop(jobs))
    async with scratch_database() as db:
        pool = await create_pool(db, max_size=8)
        singles = await single_creates(JobStore(pool), 2000)
        await pool.close()
    lat = await pickup(200, 20)
    bare_lat = await peers.bare_pickup(200, 20)
    print(f"supervisor throughput bench: {jobs} no-op jobs, median of {rounds} round(s)")
    print(row("measure", "supervisor", "baseline", "target / note"))
    print(row("enqueue, batches of 1,000 (jobs/s)", f"{median(enq):,.0f}"))
    print(row("enqueue, single INSERTs x8 clients (jobs/s)", f"{singles:,.0f}"))
    print(row("drain, defaults: 4 workers, queue 100 (jobs/s)", f"{median(drained):,.0f}",
              f"{median(bare):,.0f} bare", ">= 15,000; --peers: PgQueuer, strong bare loop"))
    print(row("drain, 8 workers, queue 1,000 (jobs/s)", f"{median(tuned):,.0f}",
              f"{median(bare):,.0f} bare"))
    print(row("drain as a fraction of the bare loop", f"{median(drained) / median(bare):.0%}"))
    print(row("pickup latency p50 at 20 jobs/s (ms)", f"{percentile(lat, 50):.2f}",
              f"{percentile(bare_lat, 50):.2f} bare NOTIFY", "<= 3 ms"))
    print(row("pickup latency p99 at 20 jobs/s (ms)", f"{percentile(lat, 99):.2f}",
              f"{percentile(bare_lat, 99):.2f} bare NOTIFY"))


async def with_history(jobs: int, rounds: int, history: int) -> None:
    """The default drain on an empty table and on one with `history` finished jobs."""
    logging.disable(logging.WARNING)
    empty, full = [], []
    for _ in range(rounds):
        empty.append((await drain("", jobs))[1])
        full.append((await drain("", jobs, history=history))[1])
    print(f"drain of {jobs} no-op jobs beside {history:,} finished ones, median of {rounds}")
    print(row("measure", "with history", "empty table", "ratio"))
    print(row("drain, defaults (jobs/s)", f"{median(full):,.0f}", f"{median(empty):,.0f}",
              f"{median(full) / median(empty):.2f}"))


async def index_cost(jobs: int, rounds: int, index: str = "jobs_type_idx") -> None:
    """Enqueue and drain with and without one index, rounds interleaved; print both and ratios."""
    logging.disable(logging.WARNING)
    runs: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for _ in range(rounds):
        for present in (False, True):
            runs[present].append(await drain("", jobs, None if present else index))
    print(f"write cost of {index}: {jobs} no-op jobs, median of {rounds} interleaved round(s)")
    print(row("measure", f"with {index}", "without (baseline)", "ratio"))
    for i, label in enumerate(("enqueue, batches of 1,000 (jobs/s)",
                               "drain, defaults (jobs/s)")):
        ours = median([r[i] for r in runs[True]])
        base = median([r[i] for r in runs[False]])
        print(row(label, f"{ours:,.0f}", f"{base:,.0f}", f"{ours / base:.2f}"))


async def main_peers(jobs: int, rounds: int) -> None:
    """Ours beside PgQueuer and the strong bare loop, interleaved round by round; medians."""
    logging.disable(logging.WARNING)
    ours, pgq, bare, ceiling = [], [], [], []
    for _ in range(rounds):
        ours.append((await drain("", jobs))[1])
        pgq.append(await peers.pgqueuer_drain(jobs))
        bare.append(await peers.strong_bare_loop(jobs))
        ceiling.append(await peers.schema_ceiling(jobs))
    # Pickup in interleaved rounds too: one round of each is at the mercy of whatever else the
    # machine does in those 10 s; the median of the rounds' p50s is the figure.
    lat_rounds, bare_rounds = [], []
    for _ in range(rounds):
        lat_rounds.append(await pickup(200, 20))
        bare_rounds.append(await peers.bare_pickup(200, 20))
    lat = [x for r in lat_rounds for x in r]
    bare_lat = [x for r in bare_rounds for x in r]
    o, p, b = median(ours), median(pgq), median(bare)
    print(f"throughput beside the peers: {jobs} no-op jobs, median of {rounds} round(s), "
          "same server, same run")
    print(row("measure", "supervisor", "peer", "ratio (target)"))
    print(row("drain, defaults vs PgQueuer batch 100 (jobs/s)", f"{o:,.0f}", f"{p:,.0f}",
              f"{o / p:.2f}x (>= 2.0x)"))
    print(row("drain, defaults vs strong bare loop (jobs/s)", f"{o:,.0f}", f"{b:,.0f}",
              f"{o / b:.2f}x (>= 0.4x)"))
    c = median(ceiling)
    print(row("our statements in the strong bare loop (jobs/s)", f"{o:,.0f}", f"{c:,.0f}",
              f"{o / c:.2f}x; it is {c / p:.2f}x PgQueuer"))
    ours_p50 = median([percentile(r, 50) for r in lat_rounds])
    bare_p50 = median([percentile(r, 50) for r in bare_rounds])
    print(row("pickup p50 at 20 jobs/s vs bare NOTIFY (ms)", f"{ours_p50:.2f}",
              f"{bare_p50:.2f}", f"{ours_p50 / bare_p50:.2f}x (<= 1.3x)"))
    print(row("pickup p99 at 20 jobs/s vs bare NOTIFY (ms)", f"{percentile(lat, 99):.2f}",
              f"{percentile(bare_lat, 99):.2f}"))
    print("rounds (jobs/s): ours " + ", ".join(f"{x:,.0f}" for x in ours) + "; PgQueuer "
          + ", ".join(f"{x:,.0f}" for x in pgq) + "; bare " + ", ".join(f"{x:,.0f}" for x in bare)
          + "; our statements, bare " + ", ".join(f"{x:,.0f}" for x in ceiling))
    print("rounds (pickup p50 ms): ours " + ", ".join(
        f"{percentile(r, 50):.2f}" for r in lat_rounds) + "; bare NOTIFY " + ", ".join(
        f"{percentile(r, 50):.2f}" for r in bare_rounds))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--index-cost", action="store_true",
                        help="only measure what jobs_type_idx costs enqueue and drain")
    parser.add_argument("--peers", action="store_true",
                        help="compare with PgQueuer and the strong bare loop (bench extra)")
    parser.add_argument("--history", type=int, default=0, metavar="N",
                        help="only the default drain, beside N finished jobs analyzed with "
                        "the backlog in")
    args = parser.parse_args()
    if args.history:
        anyio.run(with_history, args.jobs, args.rounds, args.history,
                  backend_options=backend_options())
    else:
        chosen = index_cost if args.index_cost else main_peers if args.peers else main
        anyio.run(chosen, args.jobs, args.rounds, backend_options=backend_options())
