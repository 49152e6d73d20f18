"""What the lanes need from a job store, as a protocol: PostgreSQL's JobStore or MemoryJobStore."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from supervisor.store.jobs import Claimed, Finish, Started


@dataclass(frozen=True, slots=True)
class TypeCap:
    """How many more jobs of one type a claim may take.

    `room` is what this process may still hold; `global_limit` (None: no limit) is how many
    jobs of the type all processes together may hold, checked inside the claim.
    """

    job_type: str
    room: int
    global_limit: int | None = None


class JobStore(Protocol):
    """The job store as StatusWriter, WorkerPool, Runner and Lane use it."""

    async def claim(self, lane: str, node_id: UUID, limit: int,
                    caps: Sequence[TypeCap] = ()) -> list[Claimed]:
        """Take up to `limit` due jobs for a lane, in priority order, within the caps."""

    async def next_retry_at(self) -> datetime | None:
        """When the earliest failed job becomes due."""

    async def write_batch(
        self, finished: Sequence[Finish], released: Sequence[tuple[int, int]],
    ) -> tuple[int, set[int]]:
        """Apply one group commit; (finished rows that matched, fenced job ids)."""

    async def mark_started(self, started: Sequence[Started]) -> set[int]:
        """Mark jobs 'processing' before they run; the ids that are still ours."""

    async def taken(
        self, held: Sequence[tuple[int, int]], node_id: UUID
    ) -> set[tuple[int, int]]:
        """Of the (id, token) runs a process holds, those whose job is no longer its own."""

    async def strays(
        self, node_id: UUID, status: str, held: Sequence[int]
    ) -> list[tuple[int, int]]:
        """(id, token) of jobs claimed for a process in `status` that it does not hold."""

    async def save_checkpoint(self, job_id: int, token: int, state: dict[str, Any]) -> bool:
        """Store a running job's checkpoint; False if the job is no longer ours."""

    async def set_progress(self, job_id: int, token: int, progress: dict[str, Any]) -> bool:
        """Record a running job's progress; False if the job is no longer ours."""
