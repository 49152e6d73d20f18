"""Chaos (c): a job that kills its process at once ends 'dead', not in a crash loop.

Its first crash comes before PostgreSQL knows it runs (it is not waited for: that is most of
the throughput of short jobs) and makes it a suspect; a suspect starts only once it is marked
processing, so each later crash counts: dead after 1 + RESCUE_LIMIT crashes.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import asyncpg
import pytest

from supervisor.store.jobs import JobStore
from tests.chaos.support import chaos_daemon
from tests.e2e.procs import DaemonProc

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
RESCUE_LIMIT = 3


def _daemon(dsn: str, log: Path) -> DaemonProc:
    return chaos_daemon(dsn, log, "--only", "rescue,first_time,retry",
                        NODE_HEARTBEAT_SECONDS="0.5", NODE_STALE_SECONDS="2",
                        RESCUE_INTERVAL_SECONDS="0.5")


async def test_a_job_that_kills_its_process_at_once_ends_dead(
    db_dsn: str, pool: asyncpg.Pool, store: JobStore, procs: list[DaemonProc], tmp_path: Path,
) -> None:
    job = await store.create("kill_process", {}, retry_count=5)
    crashes = 0
    # Like systemd: whenever the daemon dies, start another, until the job is out of the way.
    while crashes <= RESCUE_LIMIT + 2:
        daemon = _daemon(db_dsn, tmp_path / "daemon.log")
        procs.append(daemon)
        if await _dead(pool, job["uuid"], daemon):
            break
        assert await daemon.wait(timeout=60) == -9, daemon.tail()
        crashes += 1
    row = await store.get(job["uuid"])
    assert row is not None
    assert (row["status"], row["rescues"], row["lost_claims"], crashes) == (
        "dead", RESCUE_LIMIT, 1, RESCUE_LIMIT + 1)
    errors = row["job_response"]["runtime_errors"]
    assert len(errors) == RESCUE_LIMIT and all("interrupted" in e for e in errors), errors
    assert procs[-1].p.poll() is None, "the daemon that found the job dead keeps running"


async def _dead(pool: asyncpg.Pool, uuid: object, daemon: DaemonProc) -> bool:
    """Wait until the daemon dies (False) or the job is dead (True)."""
    with anyio.fail_after(90):
        while daemon.p.poll() is None:
            if await pool.fetchval("SELECT status FROM jobs WHERE uuid = $1", uuid) == "dead":
                return True
            await anyio.sleep(0.1)
    return False
