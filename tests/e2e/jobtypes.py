"""A job type for end-to-end tests: records each completed run in a table, so runs can be counted.

Loaded into the daemon subprocess with SUPERVISOR_JOB_MODULES=tests.e2e.jobtypes.
"""

from __future__ import annotations

import os
from typing import Any

import anyio
from pydantic import BaseModel

from supervisor.jobtypes import JobContext, JobType

CREATE_TABLE = """CREATE TABLE IF NOT EXISTS e2e_runs (
    job uuid NOT NULL, pid integer NOT NULL, at timestamptz NOT NULL DEFAULT now())"""


class RecordPayload(BaseModel):
    """How long the job works before recording itself."""

    seconds: float = 0.0


class Record:
    """Sleeps, then inserts (job uuid, pid) into e2e_runs."""

    name = "record"
    payload_model = RecordPayload

    async def run(self, ctx: JobContext, payload: RecordPayload) -> dict[str, Any] | None:
        """Work, then leave a trace of this run."""
        await anyio.sleep(payload.seconds)
        await ctx.db.execute(
            "INSERT INTO e2e_runs (job, pid) VALUES ($1, $2)", ctx.uuid, os.getpid())
        return None


JOB_TYPES: tuple[JobType, ...] = (Record(),)
