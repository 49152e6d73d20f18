"""The worker pool: N workers take jobs from a lane's queue and run their handlers."""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import anyio
from anyio.abc import TaskStatus

from supervisor.errors import JobStopped, PermanentError, RetryAfter
from supervisor.jobtypes import JobContext, JobInputError, Registry
from supervisor.lanes.limits import ConcurrencyLimits
from supervisor.lanes.queue import JobQueue
from supervisor.lanes.writer import StatusWriter
from supervisor.metrics import JOB_FIGURES
from supervisor.runtime.waiting import Backoff
from supervisor.states import Status, after_failure
from supervisor.store.db import is_transient
from supervisor.store.jobs import Claimed, Finish, Started
from supervisor.store.ports import JobStore

log = logging.getLogger("supervisor.lanes.pool")
PROGRESS_EVERY = 1.0  # seconds between progress writes of one job
# A job that is not a suspect shows as 'processing' once it has run this long. Most short jobs
# finish sooner and need only their final write, which halves the database work of a busy lane.
STARTED_MARK_DELAY = 0.02
PROGRESS_TIMEOUT = 2.0  # a progress write that takes longer is given up
TRACE_LIMIT = 4000  # characters of a traceback kept with the job (the end, where it was raised)
CHECKPOINT_PATIENCE = 60.0  # seconds a checkpoint write waits out a database outage
# Stop reasons after which the job goes back untouched (no attempt used): the process is
# stopping, a user cancelled it (already written), or another process owns it now.
RELEASE_REASONS = frozenset({"shutdown", "cancel", "fenced"})


@dataclass(slots=True)
class _Run:
    """One run of a job in a worker.

    Its cancellation is the run's `asyncio.Timeout`: the job's deadline, and, brought forward to
    now, how a shutdown, a cancel or a takeover interrupts it (the reason is in ctx.stop_reason).
    Plain asyncio on purpose: an anyio CancelScope per job was most of the pool's per-job cost.
    """

    timeout: asyncio.Timeout
    ctx: JobContext[Any]
    started: datetime  # when the run began, as its start mark says
    clock: float  # the same on the loop's clock
    marked: bool  # a start mark was written or is not wanted (suspects write theirs first)

    def interrupt(self) -> None:
        """Stop the handler at its next await (once: a second cancel would outlive the run)."""
        if not self.timeout.expired():
            try:
                self.timeout.reschedule(asyncio.get_running_loop().time())
            except RuntimeError:
                pass  # the run has already left its timeout


@dataclass(slots=True)
class _Outcome:
    status: Status
    run_after: datetime | None
    response: dict[str, Any]
    error: str | None = None
    trace: str | None = None


class WorkerPool:
    """Runs jobs until the queue is closed; running jobs can be interrupted or cancelled."""

    def __init__(
        self, lane: str, queue: JobQueue, size: int, *, registry: Registry, store: JobStore,
        writer: StatusWriter, backoff: str, resources: Mapping[str, Any] | None = None,
        db: Any = None, max_delay: float = 3600.0, limits: ConcurrencyLimits | None = None,
    ) -> None:
        self.lane = lane
        self.queue = queue
        self.size = size
        self.registry = registry
        self.store = store
        self.writer = writer
        self.backoff = backoff
        self.resources = resources or {}
        self.db = db
        self.max_delay = max_delay
        self.limits = limits
        self.running: dict[UUID, _Run] = {}
        # Every run by (job id, token): after an outage the same job can run here twice for a
        # moment, the taken run and a fresh claim of it, and only the first must stop.
        self.held: dict[tuple[int, int], _Run] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._busy = asyncio.Event()  # set while a job runs: the start-mark sweep works then

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Start the workers; returns when the queue is closed and every job has ended."""
        async with anyio.create_task_group() as outer:
            outer.start_soon(self._mark_long_runs)
            async with anyio.create_task_group() as tg:
                for _ in range(self.size):
                    tg.start_soon(self._worker)
                task_status.started()
            outer.cancel_scope.cancel()

    async def wait_idle(self) -> None:
        """Return once no job is running."""
        await self._idle.wait()

    def ask_stop_all(self, reason: str = "shutdown") -> None:
        """Tell every running job it should stop (ctx.should_stop()); the grace period runs."""
        for run in self.running.values():
            run.ctx.stop_reason = run.ctx.stop_reason or reason

    def interrupt_all(self) -> int:
        """Interrupt every running job (shutdown past the grace period); they are released."""
        self.ask_stop_all()
        for run in self.running.values():
            run.interrupt()
        return len(self.running)

    def abandon(self, runs: set[tuple[int, int]]) -> int:
        """Interrupt these (job id, token) runs: the jobs were taken over, results are void."""
        taken = [self.held[key] for key in runs if key in self.held]
        for run in taken:
            run.ctx.stop_reason = "fenced"
            run.interrupt()
        return len(taken)

    def cancel(self, uuid: UUID) -> bool:
        """Stop one running job (a user cancelled it); its late result is fenced anyway."""
        run = self.running.get(uuid)
        if run is not None:
            run.ctx.stop_reason = "cancel"
            run.interrupt()
        return run is not None

    async def _worker(self) -> None:
        while (job := await self.queue.get()) is not None:
            await self._execute(job)
            if self.queue.room.is_set():
                # The runner is due to refill (or its claim is in flight): give it a loop turn.
                # A handler that never awaits (a no-op, CPU work) would otherwise let the
                # workers run the whole queue in one turn, and each claim would start only once
                # the queue was empty, or its rows wait until then to be read.
                await asyncio.sleep(0)

    def _timeout(self, job: Claimed) -> float | None:
        if job.timeout is not None:
            return job.timeout
        try:
            return self.registry.defaults(job.job_type).timeout
        except JobInputError:
            return None  # an unknown type fails in _call, with the registry's message

    async def _execute(self, job: Claimed) -> None:
        started = datetime.now(UTC)
        if job.attempts == 0:
            JOB_FIGURES.picked_up(self.lane, max(0.0, (started - job.created_at).total_seconds()))
        timeout = self._timeout(job)
        ctx = self._context(job)
        loop = asyncio.get_running_loop()
        outcome: _Outcome | None = None
        clock = time.perf_counter()
        run: _Run | None = None
        try:
            # The deadline starts with the handler, below: waiting for a start mark is not run time.
            async with asyncio.timeout(None) as deadline:
                run = _Run(deadline, ctx, started, loop.time(), job.suspect)
                self.running[job.uuid] = self.held[job.id, job.token] = run
                self._idle.clear()
                self._busy.set()
                # A stop asked while a suspect waited for its start mark must not be lost to
                # the reschedule below (it would replace a pending interrupt): such a run ends.
                if await self._may_start(job, started, run) and ctx.stop_reason is None:
                    if timeout:
                        deadline.reschedule(loop.time() + timeout)
                    outcome = await self._attempt(job, ctx)
                else:
                    ctx.stop_reason = ctx.stop_reason or "fenced"
        except TimeoutError:
            # Only the run's own timeout gets here: the handler's exceptions are outcomes.
            if ctx.stop_reason is None:
                outcome = self._failure(job, TimeoutError(f"timed out after {timeout:g} s"))
        finally:
            if run is not None:
                if self.running.get(job.uuid) is run:
                    del self.running[job.uuid]
                del self.held[job.id, job.token]
                if not self.running:
                    self._idle.set()
                    self._busy.clear()
            if self.limits:
                self.limits.done(job.job_type)
            if outcome is None:
                # Interrupted (shutdown, cancel, taken over, the lane crashing): back, no attempt.
                self.writer.released(job.id, job.token)
            else:
                self._record(job, started, time.perf_counter() - clock, outcome)

    async def _may_start(self, job: Claimed, started: datetime, run: _Run) -> bool:
        """Whether to run the handler now.

        A suspect (its claim was lost with a dead process before) runs only once PostgreSQL
        knows it runs here, so a job that kills its process within milliseconds is counted
        as a crash (poison pill) from its second loss on; a job cancelled or taken meanwhile
        is not run. Any other job starts at once: most finish before a start mark is worth
        writing, which is most of the throughput of short jobs.
        """
        if not job.suspect:
            return True
        return await self.writer.started(Started(job.id, job.token, started))

    async def _mark_long_runs(self) -> None:
        """Show a job as processing once it has run STARTED_MARK_DELAY; stop it if not ours.

        One sweep for the whole pool while anything runs, not a timer per job: at thousands of
        jobs a second, arming and cancelling a timer for each was a cost of its own.
        """
        loop = asyncio.get_running_loop()
        while True:
            await self._busy.wait()
            await asyncio.sleep(STARTED_MARK_DELAY)
            due = loop.time() - STARTED_MARK_DELAY
            for (job_id, token), run in list(self.held.items()):
                if not run.marked and run.clock <= due:
                    run.marked = True
                    self._mark(Started(job_id, token, run.started), run)

    def _mark(self, mark: Started, run: _Run) -> None:
        marked = self.writer.started(mark)
        marked.add_done_callback(lambda done: None if done.cancelled() or done.result()
                                 else self._fence(run))

    def _fence(self, run: _Run) -> None:
        run.ctx.stop_reason = run.ctx.stop_reason or "fenced"
        run.interrupt()

    async def _attempt(self, job: Claimed, ctx: JobContext[Any]) -> _Outcome | None:
        """One run of the handler as an outcome; None when the job must go back untouched."""
        try:
            result = await self._call(job, ctx)
        except JobStopped as exc:
            if exc.reason in RELEASE_REASONS:
                return None
            return self._failure(job, TimeoutError(f"stopped: {exc.reason}"))
        except Exception as exc:
            return self._failure(job, exc)
        return _Outcome(Status.COMPLETED, None, result)

    def _context(self, job: Claimed) -> JobContext[Any]:
        ctx: JobContext[Any] = JobContext(
            job.uuid, job.job_type, job.attempts + 1, self.resources.get(job.job_type),
            db=self.db, checkpoint_state=job.checkpoint, report=self._progress_reporter(job))
        ctx._saver = self._checkpoint_saver(job, ctx)
        return ctx

    async def _call(self, job: Claimed, ctx: JobContext[Any]) -> dict[str, Any]:
        jt = self.registry.get(job.job_type)
        payload = self.registry.parse(job.job_type, job.data)
        result = await jt.run(ctx, payload)
        return dict(result or {})

    def _failure(self, job: Claimed, exc: BaseException) -> _Outcome:
        """How a failed run ends: retried later, or dead (permanent, or out of retries)."""
        now = datetime.now(UTC)
        error = f"attempt {job.attempts + 1}: {type(exc).__name__}: {exc}"
        trace = "".join(traceback.format_exception(exc))[-TRACE_LIMIT:]
        if isinstance(exc, PermanentError | JobInputError):
            status, run_after = Status.DEAD, None  # no retry can fix it: keep the attempts
        else:
            backoff = self._backoff(job.job_type)
            # A manual retry renews the retries: count only the runs since it.
            status, run_after = after_failure(job.attempts - job.retried_attempts,
                                              job.retry_count, job.retry_interval, now, backoff,
                                              max_delay=self.max_delay)
            if isinstance(exc, RetryAfter) and status is Status.FAILED:
                run_after = now + timedelta(seconds=exc.seconds)
        log.warning("job failed", exc_info=exc, extra={
            "action": "job_failed", "job": str(job.uuid), "job_type": job.job_type,
            "error": error, "next": status.value})
        return _Outcome(status, run_after, {}, error, trace)

    def _backoff(self, job_type: str) -> str:
        try:
            return self.registry.defaults(job_type).backoff or self.backoff
        except JobInputError:
            return self.backoff

    def _record(self, job: Claimed, started: datetime, seconds: float, out: _Outcome) -> None:
        now = datetime.now(UTC)
        self.writer.finished(Finish(job.id, job.token, out.status.value, started, now,
                                    out.run_after, out.response, out.error, out.trace))
        JOB_FIGURES.job_finished(job.job_type, out.status.value, seconds)

    def _checkpoint_saver(self, job: Claimed, ctx: JobContext[Any]) -> Any:
        async def save(state: dict[str, Any]) -> None:
            backoff = Backoff(cap=5.0)
            give_up = time.monotonic() + CHECKPOINT_PATIENCE
            while True:
                try:
                    ours = await self.store.save_checkpoint(job.id, job.token, state)
                    break
                except Exception as exc:
                    if not is_transient(exc) or time.monotonic() > give_up:
                        raise
                    await anyio.sleep(backoff.next())
            if not ours:
                # Another process owns the job now (rescued, or cancelled): stop working on it.
                ctx.stop_reason = ctx.stop_reason or "fenced"
                raise JobStopped(ctx.stop_reason)

        return save

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
