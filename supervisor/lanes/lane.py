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
        self.runner: Runner | None = None

    async def run(
        self, stopping: asyncio.Event, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Run until `stopping`, then drain: queued jobs back at once, running ones after grace."""
        s = self.settings
        queue = self.queue = JobQueue(s.queue_size)
        runner = self.runner = Runner(s.name, self.store, queue, self.node_id, batch=s.batch,
                                      poll_seconds=s.poll_seconds, wake=self.wake,
                                      limits=s.limits)
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

    async def drop_taken(self) -> int:
        """After an outage: stop working on jobs others took meanwhile (the token check).

        Queued ones leave the queue; running ones are interrupted, and their results are never
        written (the release that follows matches no row: the token moved on).
        """
        queue, pool, runner = self.queue, self.pool, self.runner
        if queue is None or pool is None or runner is None:
            return 0
        await self._release_strays(queue, pool, runner)
        runs = {(j.id, j.token) for j in queue.jobs()} | set(pool.held)
        taken = await self.store.taken(sorted(runs), self.node_id)
        if not taken:
            return 0
        dropped = queue.discard(taken)
        # A job claimed again since runs here with a newer token: only the old run stops.
        running = pool.abandon(taken)
        log.warning("jobs were taken over while this process was away: dropped them", extra={
            "action": "taken_over", "lane": self.name, "queued": len(dropped),
            "running": running, "job_ids": sorted(run[0] for run in taken)[:50]})
        return len(dropped) + running

    async def _release_strays(self, queue: JobQueue, pool: WorkerPool, runner: Runner) -> None:
        """Hand back jobs claimed for us whose claim's answer was lost with the connection."""
        status = "in_queue" if self.name == "first_time" else "retry_in_queued"
        async with runner.claiming:  # no claim in flight: every claimed job is queued or held
            held = {j.id for j in queue.jobs()} | {run[0] for run in pool.held}
            strays = await self.store.strays(self.node_id, status, sorted(held))
        for job_id, token in strays:
            self.writer.released(job_id, token)
        if strays:
            log.warning("claims whose answer was lost: handed the jobs back", extra={
                "action": "release_strays", "lane": self.name, "count": len(strays),
                "job_ids": [s[0] for s in strays][:50]})

    def depth(self) -> int:
        """Jobs waiting in memory now."""
        return len(self.queue) if self.queue is not None else 0

    def running(self) -> int:
        """Jobs running now."""
        return len(self.pool.running) if self.pool is not None else 0
