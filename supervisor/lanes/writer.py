"""Group commit of job status writes: one transaction per batch, in the order they were made."""

from __future__ import annotations

import asyncio
import logging

import anyio
from anyio.abc import TaskStatus

from supervisor.metrics import JOBS_FENCED
from supervisor.runtime.waiting import Backoff, wait_any, wait_retry
from supervisor.store.db import is_transient
from supervisor.store.jobs import Finish, Started
from supervisor.store.ports import JobStore

log = logging.getLogger("supervisor.lanes.writer")


class StatusWriter:
    """Collects started/finished/released marks and flushes them together.

    Workers never wait for a final commit: a flush starts as soon as a mark is due, and
    whatever arrives during it goes into the next one. That is what lets one process finish
    thousands of jobs a second while every job keeps its own status, token and error. Every
    statement checks the job's token, so a stale mark can never overwrite newer state.

    Started marks are the exception: a worker waits until PostgreSQL knows the job runs here
    before it calls the handler, so a job that kills its process at once is 'processing' and its
    lost run is counted by the rescue (the poison-pill rule). They go in their own batches,
    through the claim pool's fast commits, so waiting for them costs a round trip, not a flush.
    """

    def __init__(self, store: JobStore, max_batch: int = 500) -> None:
        self.store = store
        self.max_batch = max_batch
        self._starting: list[tuple[Started, asyncio.Future[bool]]] = []
        self._start_due = asyncio.Event()
        self._finished: list[Finish] = []
        self._released: list[tuple[int, int]] = []
        self._pending = asyncio.Event()
        self.flushes = 0
        self.finished_total = 0

    def started(self, mark: Started) -> asyncio.Future[bool]:
        """A worker is about to run a job; the future says whether the job is still ours."""
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._starting.append((mark, done))
        self._start_due.set()
        return done

    def finished(self, mark: Finish) -> None:
        """A job's run ended."""
        self._finished.append(mark)
        self._pending.set()

    def released(self, job_id: int, token: int) -> None:
        """A job this process held goes back without using an attempt."""
        self._released.append((job_id, token))
        self._pending.set()

    def pending(self) -> int:
        """Marks not yet committed."""
        return len(self._starting) + len(self._finished) + len(self._released)

    async def run(
        self, stopping: asyncio.Event, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Flush whenever marks are due; after `stopping`, flush what is left and return."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._start_marks, stopping)
            task_status.started()
            await self._final_marks(stopping)
            tg.cancel_scope.cancel()  # nobody waits for a start mark once the lanes are gone

    async def _final_marks(self, stopping: asyncio.Event) -> None:
        backoff = Backoff(cap=5.0)
        while True:
            if not (self._finished or self._released):
                if stopping.is_set():
                    return
                self._pending.clear()
                await wait_any(self._pending, stopping)
                continue
            try:
                with anyio.CancelScope(shield=True):
                    await self.flush()
                backoff.reset()
            except Exception as exc:
                if is_transient(exc) or not self._finished:
                    await self._retry_later(exc, backoff, "write_retry")
                    continue
                try:
                    with anyio.CancelScope(shield=True):
                        await self._isolate()
                except Exception as again:
                    await self._retry_later(again, backoff, "write_retry")

    async def _start_marks(self, stopping: asyncio.Event) -> None:
        backoff = Backoff(cap=5.0)
        while True:
            if not self._starting:
                self._start_due.clear()
                await self._start_due.wait()
                continue
            try:
                await self.flush_started()
                backoff.reset()
            except Exception as exc:
                await self._retry_later(exc, backoff, "start_retry")

    async def _retry_later(self, exc: Exception, backoff: Backoff, action: str) -> None:
        """Wait out an outage; any other error is logged and retried too: losing marks is worse."""
        delay = backoff.next()
        if is_transient(exc):
            log.warning("cannot write job states, retrying", extra={
                "action": action, "error": str(exc), "delay": delay, "pending": self.pending()})
            await wait_retry(delay)
        else:
            log.exception("job state write failed, retrying", extra={
                "action": action, "error": str(exc), "delay": delay, "pending": self.pending()})
            await anyio.sleep(delay)

    async def _isolate(self) -> None:
        """A batch PostgreSQL refuses for its content (a result it cannot store, say NaN in
        JSON): write the results one by one, and record each refused one as an error instead,
        so one bad result never holds up every other job's."""
        batch, self._finished = self._finished[: self.max_batch], self._finished[self.max_batch:]
        for i, mark in enumerate(batch):
            try:
                await self.store.write_batch([mark], [])
            except Exception as exc:
                if is_transient(exc):
                    self._finished[:0] = batch[i:]
                    raise
                log.error("job result refused by the database; recording the error instead",
                          extra={"action": "result_refused", "job_id": mark.id,
                                 "error": str(exc)})
                mark.response = {}
                mark.error = f"{mark.error + '; ' if mark.error else ''}result not stored: " \
                             f"{type(exc).__name__}: {exc}"
                await self.store.write_batch([mark], [])
            self.finished_total += 1

    async def flush_started(self) -> None:
        """Commit the waiting start marks and tell each worker whether its job is still ours."""
        batch, self._starting = self._starting[: self.max_batch], self._starting[self.max_batch:]
        batch = [(m, f) for m, f in batch if not f.done()]  # the worker was interrupted
        if not batch:
            return
        try:
            with anyio.CancelScope(shield=True):
                ours = await self.store.mark_started([m for m, _ in batch])
        except BaseException:
            self._starting[:0] = batch
            raise
        for mark, done in batch:
            if not done.done():
                done.set_result(mark.id in ours)

    async def flush(self, *, everything: bool = False) -> None:
        """Commit one batch; on error the batch is put back so nothing is lost."""
        finished, self._finished = self._finished[: self.max_batch], self._finished[self.max_batch:]
        released, self._released = self._released, []
        if everything:
            # Start marks nobody will wait for any more: the jobs are released or finished.
            for _, done in self._starting:
                if not done.done():
                    done.set_result(False)
            self._starting = []
        try:
            applied, fenced = await self.store.write_batch(finished, released)
        except BaseException:
            self._finished[:0] = finished
            self._released[:0] = released
            raise
        self.flushes += 1
        self.finished_total += applied
        if fenced:
            JOBS_FENCED.inc(len(fenced))
            log.warning("results dropped: jobs were taken over", extra={
                "action": "fenced", "job_ids": sorted(fenced)})
