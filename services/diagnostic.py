"""Diagnostic job types for smoke tests and benchmarks: noop and sleep."""

from __future__ import annotations

from typing import Any

import anyio
from pydantic import BaseModel, ConfigDict, Field

from supervisor.families import Family
from supervisor.jobtypes import JobContext, JobType


class NoopPayload(BaseModel):
    """Any object; it is ignored."""

    model_config = ConfigDict(extra="allow")


class SleepPayload(BaseModel):
    """How long to sleep, and whether to fail afterwards."""

    # strict: {"seconds": "5"} is refused at create time rather than stored as a string
    model_config = ConfigDict(extra="forbid", strict=True)
    seconds: float = Field(0.0, ge=0, le=86400)
    fail: bool = False


class Noop:
    """Does nothing; measures the runtime's own overhead."""

    name = "noop"
    payload_model = NoopPayload

    async def run(self, ctx: JobContext[None], payload: NoopPayload) -> dict[str, Any] | None:
        """Return at once."""
        return None


class Sleep:
    """Sleeps, reporting progress each second, then succeeds or raises."""

    name = "sleep"
    payload_model = SleepPayload

    async def run(self, ctx: JobContext[None], payload: SleepPayload) -> dict[str, Any] | None:
        """Sleep `seconds`; raise if `fail`."""
        remaining = payload.seconds
        while remaining > 0:
            step = min(1.0, remaining)
            await anyio.sleep(step)
            remaining -= step
            await ctx.progress(round(payload.seconds - remaining, 3), payload.seconds)
        if payload.fail:
            raise RuntimeError(f"sleep job asked to fail after {payload.seconds:g}s")
        return {"messages": f"slept {payload.seconds:g}s"}


JOB_TYPES: tuple[JobType, ...] = (Noop(), Sleep())

family = Family(name="diagnostic", job_types=JOB_TYPES)
