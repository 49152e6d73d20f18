"""An in-memory job store with the PostgreSQL store's rules, for fast tests of the lanes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from supervisor.store.jobs import Claimed, Finish, Started
from supervisor.store.ports import TypeCap

HELD = ("in_queue", "retry_in_queued", "processing")


@dataclass
class MemoryJob:
    """One job row."""

    id: int
    uuid: UUID
    job_type: str
    data: dict[str, Any]
    retry_count: int = 0
    retry_interval: int = 30
    priority: int = 5
    status: str = "open"
    run_after: datetime | None = None
    attempts: int = 0
    token: int = 0
    node_id: UUID | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    progress: dict[str, Any] | None = None
    checkpoint: dict[str, Any] | None = None
    timeout_seconds: float | None = None
    job_response: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class MemoryJobStore:
    """Implements supervisor.store.ports.JobStore on a dict; claims, tokens and fencing alike.

    `fail_next` makes the next calls raise the given exceptions (a database blip), in order.
    """

    def __init__(self) -> None:
        self.jobs: dict[int, MemoryJob] = {}
        self.fail_next: list[BaseException] = []
        self.batches: list[tuple[int, int]] = []  # (finished, released) per write
        self.claims = 0

    def _maybe_fail(self) -> None:
        if self.fail_next:
            raise self.fail_next.pop(0)

    def add(self, job_type: str = "noop", data: dict[str, Any] | None = None,
            **fields: Any) -> MemoryJob:
        """Insert an open job (fields as on MemoryJob)."""
        job = MemoryJob(len(self.jobs) + 1, uuid4(), job_type, data or {}, **fields)
        self.jobs[job.id] = job
        return job

    def by_uuid(self, uuid: UUID) -> MemoryJob:
        """The job with this uuid."""
        return next(j for j in self.jobs.values() if j.uuid == uuid)

    def statuses(self) -> list[str]:
        """Every job's status, in id order."""
        return [self.jobs[i].status for i in sorted(self.jobs)]

    def cancel(self, uuid: UUID) -> None:
        """Cancel as cancel_job does: bumping the token fences a runner still working on it."""
        job = self.by_uuid(uuid)
        job.status, job.token, job.finished_at = "cancelled", job.token + 1, datetime.now(UTC)

    def _due(self, lane: str, now: datetime) -> list[MemoryJob]:
        if lane == "first_time":
            due = [j for j in self.jobs.values() if j.status == "open"
                   and (j.run_after is None or j.run_after <= now)]
            return sorted(due, key=lambda j: (j.priority, j.id))
        due = [j for j in self.jobs.values() if j.status == "failed"
               and j.run_after is not None and j.run_after <= now]
        return sorted(due, key=lambda j: (j.priority, j.run_after or now, j.id))

    def _room(self, caps: Sequence[TypeCap]) -> dict[str, int]:
        room = {}
        for cap in caps:
            left = cap.room
            if cap.global_limit is not None:
                held = sum(1 for j in self.jobs.values()
                           if j.job_type == cap.job_type and j.status in HELD)
                left = min(left, cap.global_limit - held)
            room[cap.job_type] = left
        return room

    async def claim(self, lane: str, node_id: UUID, limit: int,
                    caps: Sequence[TypeCap] = ()) -> list[Claimed]:
        """Take up to `limit` due jobs in priority order, each capped type within its room."""
        self.claims += 1
        self._maybe_fail()
        room = self._room(caps)
        taken: list[Claimed] = []
        for job in self._due(lane, datetime.now(UTC)):
            if len(taken) >= limit:
                break
            if job.job_type in room:
                if room[job.job_type] <= 0:
                    continue
                room[job.job_type] -= 1
            job.status = "in_queue" if lane == "first_time" else "retry_in_queued"
            job.node_id, job.token = node_id, job.token + 1
            taken.append(Claimed(job.id, job.uuid, job.job_type, dict(job.data), job.token,
                                 job.attempts, job.retry_count, job.retry_interval,
                                 job.created_at, lane, job.checkpoint, job.timeout_seconds))
        return taken

    async def next_retry_at(self) -> datetime | None:
        """When the earliest failed job becomes due."""
        self._maybe_fail()
        times = [j.run_after for j in self.jobs.values()
                 if j.status == "failed" and j.run_after is not None]
        return min(times) if times else None

    def _ours(self, job_id: int, token: int, states: Sequence[str] = HELD) -> MemoryJob | None:
        job = self.jobs.get(job_id)
        return job if job is not None and job.token == token and job.status in states else None

    async def write_batch(
        self, finished: Sequence[Finish], released: Sequence[tuple[int, int]],
    ) -> tuple[int, set[int]]:
        """Apply marks whose token still matches, all or nothing like one transaction."""
        self._maybe_fail()
        self.batches.append((len(finished), len(released)))
        applied = {f.id for f in finished if self._finish(f)}
        for job_id, token in released:
            if job := self._ours(job_id, token):
                job.status = "open" if job.attempts == 0 else "failed"
                job.run_after = None if job.attempts == 0 else datetime.now(UTC)
                job.node_id, job.started_at, job.progress = None, None, None
        return len(applied), {f.id for f in finished} - applied

    def _finish(self, f: Finish) -> bool:
        job = self._ours(f.id, f.token)
        if job is None:
            return False
        job.status, job.attempts = f.status, job.attempts + 1
        job.started_at, job.finished_at, job.run_after = f.started_at, f.finished_at, f.run_after
        job.progress = None
        job.job_response = {**job.job_response, **(f.response or {})}
        if f.error is not None:
            errors = list(job.job_response.get("runtime_errors", []))
            job.job_response["runtime_errors"] = [*errors, f.error]
            if f.trace is not None:
                traces = list(job.job_response.get("tracebacks", []))
                job.job_response["tracebacks"] = [*traces, {"error": f.error,
                                                            "traceback": f.trace}]
        return True

    async def mark_started(self, started: Sequence[Started]) -> set[int]:
        """Mark queued jobs 'processing'; the ids whose token still matched."""
        self._maybe_fail()
        ours: set[int] = set()
        for s in started:
            if job := self._ours(s.id, s.token, ("in_queue", "retry_in_queued")):
                job.status, job.started_at, job.finished_at = "processing", s.started_at, None
                ours.add(s.id)
        return ours

    async def taken(
        self, held: Sequence[tuple[int, int]], node_id: UUID
    ) -> set[tuple[int, int]]:
        """Runs whose job moved on: another token, another node, or gone."""
        self._maybe_fail()
        out = set()
        for job_id, token in held:
            job = self.jobs.get(job_id)
            if job is None or job.token != token or job.node_id != node_id:
                out.add((job_id, token))
        return out

    async def strays(
        self, node_id: UUID, status: str, held: Sequence[int]
    ) -> list[tuple[int, int]]:
        """Jobs claimed for `node_id` in `status` that it does not hold."""
        self._maybe_fail()
        return [(j.id, j.token) for j in self.jobs.values()
                if j.node_id == node_id and j.status == status and j.id not in set(held)]

    async def save_checkpoint(self, job_id: int, token: int, state: dict[str, Any]) -> bool:
        """Store a held job's checkpoint; False if it is no longer ours."""
        self._maybe_fail()
        job = self._ours(job_id, token)
        if job is not None:
            job.checkpoint = state
        return job is not None

    async def set_progress(self, job_id: int, token: int, progress: dict[str, Any]) -> bool:
        """Record progress of a running job; False if it is no longer ours."""
        self._maybe_fail()
        job = self._ours(job_id, token, ("processing",))
        if job is not None:
            job.progress = progress
        return job is not None
