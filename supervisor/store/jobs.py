"""The job store: the only code that talks SQL to the jobs and nodes tables."""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple
from uuid import UUID

import asyncpg

from supervisor.store.db import HeldConnection
from supervisor.store.limits_sql import claim_capped
from supervisor.store.sql import q

if TYPE_CHECKING:
    from supervisor.store.ports import TypeCap

LANES = ("first_time", "retry")  # the claim lanes: open jobs, and failed jobs that are due


@dataclass(slots=True)
class Claimed:
    """A job this process holds: enough to run it and to write its result back."""

    id: int
    uuid: UUID
    job_type: str
    data: dict[str, Any]
    token: int
    attempts: int
    retry_count: int
    retry_interval: int
    created_at: datetime
    lane: str
    checkpoint: dict[str, Any] | None = None
    timeout: float | None = None  # seconds one run may take; None: the type's default
    retried_attempts: int = 0  # runs before the last manual retry; retries count from there
    suspect: bool = False  # lost with a dead process before: start only once the mark is durable


@dataclass(slots=True)
class Finish:
    """The outcome of one run, as written back in a batch."""

    id: int
    token: int
    status: str
    started_at: datetime
    finished_at: datetime
    run_after: datetime | None
    response: dict[str, Any]
    error: str | None
    trace: str | None = None


@dataclass(slots=True)
class Started:
    """A job a worker just began."""

    id: int
    token: int
    started_at: datetime


class NewJob(NamedTuple):
    """A job to insert whose uuid the caller chose."""

    uuid: UUID
    job_type: str
    data: dict[str, Any]
    retry_count: int
    retry_interval: int
    priority: int = 5
    timeout_seconds: float | None = None
    unique_key: str | None = None
    unique_states: tuple[str, ...] = ()


def job_dict(row: asyncpg.Record) -> dict[str, Any]:
    """A job row as plain JSON-friendly values, in the Jobs API field names."""
    out = dict(row)
    out.pop("notified", None)
    for key, value in out.items():
        if isinstance(value, datetime):
            out[key] = value.isoformat()
        elif isinstance(value, UUID):
            out[key] = str(value)
    return out


class JobStore:
    """Job reads and writes over an asyncpg pool."""

    def __init__(self, pool: asyncpg.Pool, claim_pool: asyncpg.Pool | None = None,
                 write_pool: asyncpg.Pool | None = None) -> None:
        self.pool = pool
        # Claims may go through a pool that does not wait for the WAL flush (see db.create_pool):
        # a claim lost in a database crash leaves the job open, and the token fences the rest.
        self.claim_pool = claim_pool or pool
        # The status writer's batches, durable, on a pool of their own (see db.KEYED_ONLY).
        self.write_pool = write_pool or pool
        # A store given a claim pool of its own (the daemon's) keeps one of its connections per
        # lane: a claim then returns without the pool's release turn (see HeldConnection). On a
        # shared pool it acquires per claim, so that pool can close without asking the store.
        self._held = ({lane: HeldConnection(claim_pool) for lane in LANES}
                      if claim_pool is not None else {})
        # Extra cross-process announcement (Redis) of 'open' and 'cancel:<uuid>'; PostgreSQL
        # NOTIFY already carries them, this is for setups where NOTIFY cannot reach.
        self.announce: Callable[[str], Awaitable[None]] | None = None

    async def close(self) -> None:
        """Hand the lanes' held connections back, before their pool closes."""
        for held in self._held.values():
            await held.release()

    async def _announce(self, topic: str) -> None:
        if self.announce is not None:
            await self.announce(topic)

    async def create(
        self,
        job_type: str,
        data: dict[str, Any],
        *,
        retry_count: int = 0,
        retry_interval: int = 30,
        run_after: datetime | None = None,
    ) -> asyncpg.Record:
        """Insert one open job (its INSERT trigger wakes the runners)."""
        row = await self.pool.fetchrow(
            q("create_job"), job_type, data, retry_count, retry_interval, run_after
        )
        assert row is not None
        await self._announce("open")
        return row

    async def create_many(
        self, job_type: str, datas: Sequence[dict[str, Any]], retry_count: int = 0,
        retry_interval: int = 30,
    ) -> None:
        """Insert many open jobs of one type in one statement."""
        await self.pool.execute(q("create_jobs"), job_type, list(datas), retry_count,
                                retry_interval)
        await self._announce("open")

    async def create_rows(self, rows: Sequence[NewJob]) -> None:
        """Insert open jobs of any types in one statement (one commit, one wake-up)."""
        if any(r.unique_key is not None for r in rows):
            raise ValueError("jobs with a unique_key go through create_unique")
        columns = [list(col) for col in zip(*(r[:7] for r in rows), strict=True)]
        await self.pool.execute(q("insert_job_rows"), *columns)

    async def create_unique(self, job: NewJob) -> tuple[UUID, bool]:
        """Insert a keyed job unless one with its key is in its unique states.

        Returns (uuid, duplicate): the new job's uuid, or the existing job's and True.
        """
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(q("lock_unique_key"), job.unique_key)
            row = await conn.fetchrow(q("insert_unique_job"), *job[:8], list(job.unique_states))
        assert row is not None
        if not row["duplicate"]:
            await self._announce("open")
        return row["uuid"], bool(row["duplicate"])

    async def claim(self, lane: str, node_id: UUID, limit: int,
                    caps: Sequence[TypeCap] = ()) -> builtins.list[Claimed]:
        """Take up to `limit` jobs for a lane ('first_time' or 'retry') in one statement."""
        held = self._held.get(lane)
        async with held.use() if held else self.claim_pool.acquire() as conn:
            if caps:
                rows = await claim_capped(conn, lane, node_id, limit, caps)
            else:
                query = q("claim_open") if lane == "first_time" else q("claim_retry")
                rows = await conn.fetch(query, node_id, limit)
        # The claim takes its rows by key, so they come back in id order (see claim_take):
        # the queue gets them in the lane's claim order.
        rows.sort(key=_open_order if lane == "first_time" else _retry_order)
        return [
            Claimed(r["id"], r["uuid"], r["job_type"], r["data"], r["token"], r["attempts"],
                    r["retry_count"], r["retry_interval"], r["created_at"], lane,
                    r["checkpoint"], r["timeout_seconds"], r["retried_attempts"], r["suspect"])
            for r in rows
        ]

    async def next_retry_at(self) -> datetime | None:
        """When the earliest failed job becomes due."""
        value: datetime | None = await self.pool.fetchval(q("next_retry_at"))
        return value

    async def write_batch(
        self, finished: Sequence[Finish], released: Sequence[tuple[int, int]],
    ) -> tuple[int, set[int]]:
        """Apply one group commit; returns (how many finished rows matched, fenced job ids)."""
        applied: set[int] = set()
        if finished and not released:
            # The usual batch: one statement, its own transaction (one round trip).
            rows = await self.write_pool.fetch(q("finish_jobs"), *finish_columns(finished))
            applied = {r["id"] for r in rows}
        else:
            async with self.write_pool.acquire() as conn, conn.transaction():
                if finished:
                    rows = await conn.fetch(q("finish_jobs"), *finish_columns(finished))
                    applied = {r["id"] for r in rows}
                if released:
                    await conn.fetch(q("release_jobs"), [r[0] for r in released],
                                     [r[1] for r in released])
        fenced = {f.id for f in finished} - applied
        return len(applied), fenced

    async def mark_started(self, started: Sequence[Started]) -> set[int]:
        """Mark jobs 'processing' before they run; returns the ids that are still ours.

        Through the claim pool (no WAL flush wait): a mark lost in a PostgreSQL crash only
        leaves the job 'in_queue' under this process, which its final write accepts.
        """
        rows = await self.claim_pool.fetch(q("mark_started"), [s.id for s in started],
                                           [s.token for s in started],
                                           [s.started_at for s in started])
        return {r["id"] for r in rows}

    async def taken(
        self, held: Sequence[tuple[int, int]], node_id: UUID
    ) -> set[tuple[int, int]]:
        """Of the (id, token) runs this process holds, those whose job is no longer its own."""
        if not held:
            return set()
        rows = await self.pool.fetch(q("held_jobs_taken"), [h[0] for h in held],
                                     [h[1] for h in held], node_id)
        return {(r["id"], r["token"]) for r in rows}

    async def strays(
        self, node_id: UUID, status: str, held: Sequence[int]
    ) -> builtins.list[tuple[int, int]]:
        """(id, token) of jobs claimed for this process in `status` that it does not hold."""
        rows = await self.pool.fetch(q("strays_of_node"), node_id, status, list(held))
        return [(r["id"], r["token"]) for r in rows]

    async def save_checkpoint(self, job_id: int, token: int, state: dict[str, Any]) -> bool:
        """Store a running job's checkpoint durably; False if the job is no longer ours."""
        status: str = await self.pool.execute(q("save_checkpoint"), job_id, token, state)
        return status.endswith(" 1")

    async def set_progress(self, job_id: int, token: int, progress: dict[str, Any]) -> bool:
        """Record progress of a running job; False if the job is no longer ours."""
        status: str = await self.pool.execute(q("set_progress"), job_id, token, progress)
        return status.endswith(" 1")

    async def get(self, uuid: UUID) -> asyncpg.Record | None:
        """One job by uuid."""
        row: asyncpg.Record | None = await self.pool.fetchrow(q("get_job"), uuid)
        return row

    async def list(
        self, *, statuses: Sequence[str] | None = None, job_type: str | None = None,
        before_id: int | None = None, limit: int = 25,
    ) -> builtins.list[asyncpg.Record]:
        """Newest jobs first, filtered; `before_id` continues a previous page."""
        states = list(statuses) if statuses else None
        if job_type is None:
            rows: builtins.list[asyncpg.Record] = await self.pool.fetch(
                q("list_jobs"), states, before_id, limit)
        else:
            rows = await self.pool.fetch(q("list_jobs_of_type"), states, job_type, before_id,
                                         limit)
        return rows

    async def cancel(self, uuid: UUID) -> asyncpg.Record | None:
        """Cancel a job that has not ended; None if it does not exist or has ended."""
        row: asyncpg.Record | None = await self.pool.fetchrow(q("cancel_job"), uuid)
        if row is not None:
            await self._announce(f"cancel:{uuid}")
        return row

    async def retry_now(self, uuid: UUID) -> asyncpg.Record | None:
        """Re-open a failed, dead or cancelled job at once, its retries renewed."""
        row: asyncpg.Record | None = await self.pool.fetchrow(q("retry_job_now"), uuid)
        if row is not None:
            await self._announce("open")
        return row

    async def counts(self) -> builtins.list[asyncpg.Record]:
        """(job_type, status, n) for every pair present."""
        rows: builtins.list[asyncpg.Record] = await self.pool.fetch(q("count_by_state"))
        return rows

    async def unfinished_counts(self) -> builtins.list[asyncpg.Record]:
        """(job_type, status, n) for every state but completed, read from partial indexes."""
        rows: builtins.list[asyncpg.Record] = await self.pool.fetch(
            q("count_unfinished_by_state"))
        return rows

    async def oldest_ready_age(self) -> float | None:
        """Seconds the oldest claimable job has waited, or None."""
        value = await self.pool.fetchval(q("oldest_ready_age"))
        return None if value is None else float(value)


def _open_order(row: asyncpg.Record) -> tuple[Any, ...]:
    return row["priority"], row["id"]


def _retry_order(row: asyncpg.Record) -> tuple[Any, ...]:
    return row["priority"], row["run_after"], row["id"]


def finish_columns(finished: Sequence[Finish]) -> list[list[Any]]:
    """The arguments of finish_jobs: one array per field, in the statement's order."""
    return [
        [f.id for f in finished], [f.token for f in finished], [f.status for f in finished],
        [f.started_at for f in finished], [f.finished_at for f in finished],
        [f.run_after for f in finished], [f.response or None for f in finished],
        [f.error for f in finished], [f.trace for f in finished],
    ]
