"""Job types for chaos tests: an execution ledger, so every run (and double run) is visible.

Loaded into daemon subprocesses with SUPERVISOR_JOB_MODULES=tests.chaos.ledger.
"""

from __future__ import annotations

import os
import signal
from typing import Any

import anyio
from pydantic import BaseModel, Field

from supervisor.jobtypes import JobContext, JobType

CREATE_LEDGER = """CREATE TABLE IF NOT EXISTS chaos_ledger (
    id bigserial PRIMARY KEY,
    job uuid NOT NULL,
    pid integer NOT NULL,
    started timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished timestamptz)"""


class LedgerPayload(BaseModel):
    """How long each run works between its two ledger writes."""

    seconds: float = Field(0.0, ge=0, le=60)


class LedgerJob:
    """Writes a ledger row when it starts and stamps it when it ends."""

    name = "ledger"
    payload_model = LedgerPayload

    async def run(self, ctx: JobContext, payload: LedgerPayload) -> dict[str, Any] | None:
        """One row per execution; a run cut short by a kill keeps `finished` NULL."""
        pool = ctx.db
        run_id = await pool.fetchval(
            "INSERT INTO chaos_ledger (job, pid) VALUES ($1, $2) RETURNING id", ctx.uuid,
            os.getpid())
        await anyio.sleep(payload.seconds)
        await pool.execute("UPDATE chaos_ledger SET finished = clock_timestamp() WHERE id = $1",
                           run_id)
        return None


class KillProcess:
    """Kills the process that runs it, at once: the poison pill."""

    name = "kill_process"
    payload_model = LedgerPayload

    async def run(self, ctx: JobContext, payload: LedgerPayload) -> dict[str, Any] | None:
        """SIGKILL ourselves before doing anything else."""
        os.kill(os.getpid(), signal.SIGKILL)
        return None


JOB_TYPES: tuple[JobType, ...] = (LedgerJob(), KillProcess())
