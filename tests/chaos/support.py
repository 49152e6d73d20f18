"""What the chaos tests share: daemons as subprocesses, and the ledger's verdict."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from tests.e2e.procs import DaemonProc


def chaos_daemon(dsn: str, log: Path, *args: str, **extra: str) -> DaemonProc:
    """A daemon with the ledger job types loaded."""
    return DaemonProc(dsn, log, *args, SUPERVISOR_JOB_MODULES="tests.chaos.ledger", **extra)


async def job_states(pool: asyncpg.Pool) -> dict[str, int]:
    """How many jobs are in each status."""
    rows = await pool.fetch("SELECT status, count(*) AS n FROM jobs GROUP BY status")
    return {r["status"]: r["n"] for r in rows}


async def ledger_problems(pool: asyncpg.Pool) -> list[str]:
    """Every way the ledger disagrees with 'each job completed once, extra runs only if rescued'.

    A job counts a loss when the rescue took it from a killed process: found running
    (`rescues`), or claimed and not yet known to run (`lost_claims`: a job starts before its
    start mark is written unless it is a suspect). Only such jobs may have more than one
    execution, and at most one more per loss.
    """
    rows = await pool.fetch("""
        SELECT j.uuid, j.status, j.attempts, j.rescues + j.lost_claims AS rescues,
               count(l.id) AS runs, count(l.finished) AS finished
        FROM jobs j LEFT JOIN chaos_ledger l ON l.job = j.uuid
        GROUP BY j.uuid, j.status, j.attempts, j.rescues, j.lost_claims""")
    problems = []
    for r in rows:
        if r["status"] != "completed" or r["attempts"] != 1:
            problems.append(f"{r['uuid']}: {r['status']} after {r['attempts']} attempt(s)")
        elif r["finished"] < 1:
            problems.append(f"{r['uuid']}: completed without a finished run")
        elif r["runs"] > 1 + r["rescues"]:
            problems.append(f"{r['uuid']}: {r['runs']} runs but only {r['rescues']} lost")
    return problems
