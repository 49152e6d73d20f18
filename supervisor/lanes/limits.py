"""Per-type concurrency limits: what this process holds of each type, and the caps of a claim."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from supervisor.store.ports import TypeCap

# While some type is held back by a limit, idle runners look again this often: a job of that
# type ending in another process sends no notification.
CAPPED_POLL_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class TypeLimit:
    """How many jobs of one type may run at once: in this process, and in all of them."""

    per_process: int | None = None
    global_: int | None = None


def limits_of(job_types: Iterable[Any]) -> dict[str, TypeLimit]:
    """The limits declared in job types' `defaults` (`concurrency`, `global_concurrency`)."""
    found: dict[str, TypeLimit] = {}
    for jt in job_types:
        defaults = getattr(jt, "defaults", None)
        local = getattr(defaults, "concurrency", None)
        overall = getattr(defaults, "global_concurrency", None)
        if local is not None or overall is not None:
            found[jt.name] = TypeLimit(local, overall)
    return found


class ConcurrencyLimits:
    """Counts the jobs of limited types this process holds (queued or running), shared by lanes.

    A claim asks for `caps()`; every claimed job counts until `done`. With no limits the
    claim stays the plain one, so the feature costs nothing when unused.
    """

    def __init__(self, limits: dict[str, TypeLimit] | None = None) -> None:
        self.limits = dict(limits or {})
        self.held: Counter[str] = Counter()
        self.wakes: list[asyncio.Event] = []  # runners to wake when a type gets room again

    def __bool__(self) -> bool:
        return bool(self.limits)

    def caps(self, asked: int) -> list[TypeCap]:
        """The room of every limited type for a claim of `asked` jobs."""
        out = []
        for name, limit in self.limits.items():
            room = asked
            if limit.per_process is not None:
                room = min(asked, max(0, limit.per_process - self.held[name]))
            out.append(TypeCap(name, room, limit.global_))
        return out

    def took(self, job_types: Iterable[str]) -> None:
        """Jobs were claimed into this process."""
        for name in job_types:
            if name in self.limits:
                self.held[name] += 1

    def done(self, job_type: str) -> None:
        """A job left this process (finished, released or handed back)."""
        if job_type not in self.limits or self.held[job_type] <= 0:
            return
        was_full = self.held[job_type] == self.limits[job_type].per_process
        self.held[job_type] -= 1
        if was_full:  # a claim may have left jobs of this type behind: look again now
            for wake in self.wakes:
                wake.set()
