"""A lane is one runner, its bounded queue and its worker pool, with the shutdown rules."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import anyio
from anyio.abc import TaskStatus

from supervisor.jobtypes import Registry
from supervisor.lanes.limits import ConcurrencyLimits
from supervisor.lanes.pool import WorkerPool
from supervisor.lanes.queue import JobQueue
from supervisor.lanes.runner import Runner
from supervisor.lanes.writer import StatusWriter
from supervisor.store.ports import JobStore

log = logging.getLogger("supervisor.lanes.lane")


@dataclass
class LaneSettings:
    """What differs between the first-time and the retry lane."""

    name: str
    workers: int
    queue_size: int
    batch: int
    poll_seconds: float
    grace_seconds: float
    backoff: str = "fixed"
    resources: dict[str, Any] = field(default_factory=dict)  # job type -> family resources
    db: Any = None  # the job-work pool handed to jobs
    max_delay: float = 3600.0
    limits: ConcurrencyLimits | None = None  # shared by the lanes of one process


class Lane:
    """Claims, queues and runs one kind of work; on stop hands back whatever it did not finish."""

    def __init__(
        self, settings: LaneSettings, *, store: JobStore, writer: StatusWriter,
        registry: Registry, node_id: UUID, wake: asyncio.Event,
    ) -> None:
        self.settings = settings
        self.name = settings.name
        self.store = store
        self.writer = writer
        self.registry = registry
        self.node_id = node_id
        self.wake = wake
        self.queue: JobQueue | None = None
        self.pool: WorkerPool | None = None

    async def run(
        self, stopping: asyncio.Event, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Run until `stopping`, then drain: queued jobs back at once, running ones after grace."""
        s = self.settings
        queue = self.queue = JobQueue(s.queue_size)
        runner = Runner(s.name, self.store, queue, self.node_id, batch=s.batch,
                        poll_seconds=s.poll_seconds, wake=self.wake, limits=s.limits)
        pool = self.pool = WorkerPool(s.name, queue, s.workers, registry=self.registry,
                                      store=self.store, writer=self.writer, backoff=s.backoff,
                                      resources=s.resources, db=s.db, max_delay=s.max_delay,
                                      limits=s.limits)
        try:
            async with anyio.create_task_group() as tg:
                await tg.start(runner.run, stopping)
                await tg.start(pool.run)
                task_status.started()
                await stopping.wait()
                await runner.stopped.wait()
                self._release(queue.close(), "shutdown")
                pool.ask_stop_all("shutdown")  # jobs that check ctx.should_stop() save and end
                with anyio.move_on_after(s.grace_seconds):
                    await pool.wait_idle()
                if interrupted := pool.interrupt_all():
                    log.warning("grace period over: interrupting running jobs", extra={
                        "action": "interrupt", "lane": s.name, "count": interrupted})
        finally:
            # Also reached when the lane crashes: nothing it holds may stay claimed by a live node.
            self._release(queue.close(), "lane stopped")

    def _release(self, jobs: list[Any], why: str) -> None:
        for job in jobs:
            self.writer.released(job.id, job.token)
            if self.settings.limits:
                self.settings.limits.done(job.job_type)
        if jobs:
            log.info("returned queued jobs", extra={"action": "release", "lane": self.name,
                                                    "count": len(jobs), "reason": why})

    def depth(self) -> int:
        """Jobs waiting in memory now."""
        return len(self.queue) if self.queue is not None else 0

    def running(self) -> int:
        """Jobs running now."""
        return len(self.pool.running) if self.pool is not None else 0
