"""The worker pool: N workers take jobs from a lane's queue and run their handlers."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import anyio
from anyio.abc import TaskStatus

from supervisor.jobtypes import JobContext, Registry
from supervisor.lanes.queue import JobQueue
from supervisor.lanes.writer import StatusWriter
from supervisor.metrics import JOBS_FINISHED, PICKUP_SECONDS, RUN_SECONDS
from supervisor.states import Status, after_failure
from supervisor.store.db import is_transient
from supervisor.store.jobs import Claimed, Finish, JobStore, Started

log = logging.getLogger("supervisor.lanes.pool")
PROGRESS_EVERY = 1.0  # seconds between progress writes of one job
PROGRESS_TIMEOUT = 2.0  # a progress write that takes longer is given up


class WorkerPool:
    """Runs jobs until the queue is closed; running jobs can be interrupted or cancelled."""

    def __init__(
        self, lane: str, queue: JobQueue, size: int, *, registry: Registry, store: JobStore,
        writer: StatusWriter, backoff: str, clients: dict[str, Any] | None = None,
    ) -> None:
        self.lane = lane
        self.queue = queue
        self.size = size
        self.registry = registry
        self.store = store
        self.writer = writer
        self.backoff = backoff
        self.clients = clients or {}
        self.running: dict[UUID, anyio.CancelScope] = {}
        # Every run by (job id, token): after an outage the same job can run here twice for a
        # moment, the taken run and a fresh claim of it, and only the first must stop.
        self.held: dict[tuple[int, int], tuple[Claimed, anyio.CancelScope]] = {}
        # Labelled metric children are looked up once: labels() per job costs more than a no-op job.
        self._pickup = PICKUP_SECONDS.labels(lane)
        self._per_type: dict[tuple[str, str], tuple[Any, Any]] = {}
        self._idle = asyncio.Event()
        self._idle.set()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Start the workers; returns when the queue is closed and every job has ended."""
        async with anyio.create_task_group() as tg:
            for _ in range(self.size):
                tg.start_soon(self._worker)
            task_status.started()

    async def wait_idle(self) -> None:
        """Return once no job is running."""
        await self._idle.wait()

    def interrupt_all(self) -> int:
        """Interrupt every running job (shutdown past the grace period); they are released."""
        for scope in self.running.values():
            scope.cancel()
        return len(self.running)

    def abandon(self, runs: set[tuple[int, int]]) -> int:
        """Interrupt these (job id, token) runs: the jobs were taken over, results are void."""
        scopes = [self.held[run][1] for run in runs if run in self.held]
        for scope in scopes:
            scope.cancel()
        return len(scopes)

    def cancel(self, uuid: UUID) -> bool:
        """Stop one running job (a user cancelled it); its late result is fenced anyway."""
        scope = self.running.get(uuid)
        if scope is not None:
            scope.cancel()
        return scope is not None

    async def _worker(self) -> None:
        while (job := await self.queue.get()) is not None:
            await self._execute(job)

    async def _execute(self, job: Claimed) -> None:
        started = datetime.now(UTC)
        marked = self.writer.started(Started(job.id, job.token, started))
        if job.attempts == 0:
            wait = (started - job.created_at).total_seconds()
            self._pickup.observe(max(0.0, wait))
        scope = anyio.CancelScope()
        self.running[job.uuid] = scope
        self.held[job.id, job.token] = (job, scope)
        self._idle.clear()
        outcome: tuple[dict[str, Any], str | None] | None = None
        clock = time.perf_counter()
        try:
            with scope:
                try:
                    # Not before PostgreSQL knows it runs here (poison-pill count, see writer);
                    # a job cancelled or taken over meanwhile is not run at all.
                    if await marked:
                        outcome = (await self._call(job), None)
                except Exception as exc:
                    outcome = ({}, f"attempt {job.attempts + 1}: {type(exc).__name__}: {exc}")
        finally:
            if self.running.get(job.uuid) is scope:
                del self.running[job.uuid]
            del self.held[job.id, job.token]
            if not self.running:
                self._idle.set()
            if outcome is None:
                # Interrupted (shutdown, cancel, or the lane crashing): back without an attempt.
                self.writer.released(job.id, job.token)
            else:
                self._record(job, started, time.perf_counter() - clock, *outcome)

    async def _call(self, job: Claimed) -> dict[str, Any]:
        jt = self.registry.get(job.job_type)
        payload = self.registry.parse(job.job_type, job.data)
        ctx = JobContext(job.uuid, job.job_type, job.attempts + 1, self.clients,
                         self._progress_reporter(job))
        result = await jt.run(ctx, payload)
        return dict(result or {})

    def _record(self, job: Claimed, started: datetime, seconds: float,
                response: dict[str, Any], error: str | None) -> None:
        now = datetime.now(UTC)
        status, run_after = Status.COMPLETED, None
        if error is not None:
            status, run_after = after_failure(job.attempts, job.retry_count, job.retry_interval,
                                              now, self.backoff)
            log.warning("job failed", extra={"action": "job_failed", "job": str(job.uuid),
                                             "job_type": job.job_type, "error": error,
                                             "next": status.value})
        self.writer.finished(Finish(job.id, job.token, status.value, started, now, run_after,
                                    response, error))
        finished, run_seconds = self._metrics(job.job_type, status.value)
        finished.inc()
        run_seconds.observe(seconds)

    def _metrics(self, job_type: str, outcome: str) -> tuple[Any, Any]:
        key = (job_type, outcome)
        if key not in self._per_type:
            self._per_type[key] = (JOBS_FINISHED.labels(job_type, outcome),
                                   RUN_SECONDS.labels(job_type))
        return self._per_type[key]

    def _progress_reporter(self, job: Claimed) -> Any:
        last = 0.0

        async def report(progress: dict[str, Any]) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= PROGRESS_EVERY or progress.get("done") == progress.get("total"):
                last = now
                try:
                    # Progress is a courtesy: no failure of it (an outage, a value PostgreSQL
                    # refuses) may fail the job, and no outage may hold the job up for long.
                    with anyio.fail_after(PROGRESS_TIMEOUT):
                        await self.store.set_progress(job.id, job.token, progress)
                except Exception as exc:
                    log.log(logging.DEBUG if is_transient(exc) else logging.WARNING,
                            "progress not recorded", extra={
                                "action": "progress", "job": str(job.uuid), "error": str(exc)})

        return report
