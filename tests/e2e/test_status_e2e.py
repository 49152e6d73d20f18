"""`supervisor status` against running daemon subprocesses: who is alive, roles, jobs by state."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from supervisor.store.jobs import JobStore
from tests.e2e.procs import DaemonProc, cli, status_json
from tests.helpers import eventually, statuses

ROLES = ["rescue", "first_time", "retry"]


async def _lanes_reported(pool: asyncpg.Pool) -> bool:
    """A heartbeat sent after the lanes started (the first one comes before them)."""
    return bool(await pool.fetchval(
        "SELECT count(*) FROM nodes WHERE info -> 'running' ? 'first_time'"))


async def _settled(pool: asyncpg.Pool) -> bool:
    counts = await statuses(pool)
    return counts.get("completed") == 3 and counts.get("dead") == 1


async def test_status_reports_a_live_daemon_its_roles_and_the_jobs(
    db_dsn: str, pool: asyncpg.Pool, store: JobStore, tmp_path: Path,
) -> None:
    daemon = DaemonProc(db_dsn, tmp_path / "daemon.log", "--only", ",".join(ROLES))
    try:
        await eventually(lambda: _lanes_reported(pool), timeout=60, what="the lanes started")
        await store.create_many("noop", [{} for _ in range(3)])
        later = datetime.now(UTC) + timedelta(hours=1)
        for _ in range(2):
            await store.create("noop", {}, run_after=later)
        await store.create("sleep", {"fail": True})
        await eventually(lambda: _settled(pool), timeout=60, what="3 completed and 1 dead")

        code, report = await status_json(db_dsn)
        assert code == 0, report
        assert report["alive"] == 1
        [me] = [p for p in report["processes"] if p["pid"] == daemon.p.pid]
        assert me["state"] == "alive" and me["roles"] == ROLES
        assert set(me["lanes"]) == {"first_time", "retry"}
        jobs = report["jobs"]
        assert jobs["total"] == 6
        assert {s: n for s, n in jobs["by_status"].items() if n} == {
            "open": 2, "completed": 3, "dead": 1}
        assert jobs["by_type"] == {"noop": {"open": 2, "completed": 3}, "sleep": {"dead": 1}}
        assert jobs["oldest_ready_age"] is None  # the open ones are not due for an hour
        assert report["last_scheduler_tick_age"] is None  # no scheduler among the roles

        table = await cli(db_dsn, "status")
        text = table.stdout.decode()
        assert table.returncode == 0, table.stderr.decode()
        assert f"alive  {me['host']}" in text and str(daemon.p.pid) in text
        assert "last scheduler tick: n/a" in text

        daemon.p.send_signal(signal.SIGTERM)
        assert await daemon.wait() == 0, daemon.tail()
        code, report = await status_json(db_dsn, "--all")
        assert code == 3
        assert report["alive"] == 0 and report["stopped"] == 1
        assert [p["state"] for p in report["processes"]] == ["stopped"]
    finally:
        daemon.kill()


async def test_status_shows_the_last_scheduler_tick(
    db_dsn: str, pool: asyncpg.Pool, tmp_path: Path,
) -> None:
    daemon = DaemonProc(db_dsn, tmp_path / "daemon.log", JOB_SCHEDULER_POLL_MS="200")

    async def ticked() -> bool:
        assert daemon.p.poll() is None, daemon.tail()
        return bool(await pool.fetchval(
            "SELECT count(*) FROM nodes WHERE info -> 'progress_age' ? 'scheduler'"))

    try:
        await eventually(ticked, timeout=60, what="a heartbeat reporting a scheduler tick")
        code, report = await status_json(db_dsn)
        assert code == 0, report
        [me] = report["processes"]
        assert "scheduler" in me["roles"] and "scheduler" in me["progress_age"]
        assert report["last_scheduler_tick_age"] is not None
        assert report["last_scheduler_tick_at"] is not None
        daemon.p.send_signal(signal.SIGTERM)
        assert await daemon.wait() == 0, daemon.tail()
    finally:
        daemon.kill()


async def test_status_exits_3_when_no_process_ever_ran(db_dsn: str) -> None:
    code, report = await status_json(db_dsn)
    assert code == 3
    assert report["alive"] == 0 and report["processes"] == []
    assert report["jobs"]["total"] == 0
