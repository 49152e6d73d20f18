"""One scheduler tick firing 10,000 every-minute schedules: tick time and run lateness.

    python bench/scheduler.py [--schedules 10000] [--batch 25] [--rounds 3] [--no-cache]

Each round makes a scratch database (DATABASE_URL, default the local server), inserts the
schedules all due at the same minute, and lets the scheduler sleep until that minute and
tick exactly as `supervisor run` does. The clock is the real clock shifted so that minute is
half a second away (no waiting for a wall-clock minute). Lateness is each run's recorded
fire time minus its scheduled_for. `--no-cache` turns off the per-process cron cache, so
every schedule pays for its own next-time computation.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bench.common import median, percentile, row, scratch_database
from supervisor.families import discover
from supervisor.schedule import rules as schedule_rules
from supervisor.schedule.scheduler import Scheduler, TickReport
from supervisor.store.db import create_pool

TARGET_SECONDS = 1.0


def shifted_clock(lead: float) -> tuple[Callable[[], datetime], datetime]:
    """A real-time clock whose next whole minute is `lead` seconds away, and that minute."""
    now = datetime.now(UTC)
    minute = now.replace(second=0, microsecond=0) + timedelta(minutes=5)
    offset = minute - timedelta(seconds=lead) - now
    return (lambda: datetime.now(UTC) + offset), minute


async def one_round(schedules: int, batch: int) -> tuple[float, list[float], TickReport]:
    """(tick seconds, lateness in ms of every run, the tick's report)."""
    async with scratch_database("bench_sched") as dsn:
        pool = await create_pool(dsn, min_size=2, max_size=4)
        try:
            clock, minute = shifted_clock(0.5)
            await pool.execute(
                "INSERT INTO scheduled_jobs (name, cron, job_type, next_run_at, overlap) "
                "SELECT 'every-minute-' || i, '* * * * *', 'noop', $2, true "
                "FROM generate_series(1, $1) AS i", schedules, minute)
            await pool.execute("VACUUM ANALYZE scheduled_jobs")
            sched = Scheduler(pool, discover().registry, batch=batch, clock=clock)
            await asyncio.sleep(await sched.next_wait(TickReport()))
            start = time.perf_counter()
            report = await sched.tick_once()
            seconds = time.perf_counter() - start
            lateness = [float(r["lateness_ms"]) for r in await pool.fetch(
                "SELECT lateness_ms FROM jobs")]
        finally:
            await pool.close()
    assert report.fired == schedules, report
    return seconds, lateness, report


def disable_cache() -> None:
    """Make every schedule compute its own next time, as if all crons were different."""
    schedule_rules.next_fire = lambda cron, after: cron.next_after(after)  # type: ignore[assignment]


async def main(schedules: int, batch: int, rounds: int) -> None:
    """Run the rounds and print the figures beside the target."""
    results = [await one_round(schedules, batch) for _ in range(rounds)]
    ticks = [r[0] for r in results]
    late = [x for r in results for x in r[1]]
    tick = median(ticks)
    verdict = "meets" if tick < TARGET_SECONDS else "MISSES"
    print(f"scheduler: {schedules} every-minute schedules, JOB_SCHEDULER_BATCH={batch}, "
          f"median of {rounds}, {results[0][2].batches} transactions per tick")
    print(row("", "measured", "target"))
    print(row("one tick firing every schedule", f"{tick:.3f} s", f"< {TARGET_SECONDS:.0f} s",
              f"{verdict} the target; rounds {', '.join(f'{t:.3f}' for t in ticks)}"))
    print(row("run lateness p50", f"{percentile(late, 50):.0f} ms"))
    print(row("run lateness p99", f"{percentile(late, 99):.0f} ms"))
    print(row("run lateness max", f"{max(late):.0f} ms"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=25, help="JOB_SCHEDULER_BATCH")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-cache", action="store_true", help="no shared cron cache")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.no_cache:
        disable_cache()
    asyncio.run(main(args.schedules, args.batch, args.rounds))
