"""Job states and the rules that move a job between them."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum


class Status(StrEnum):
    """Every state a job can be in."""

    OPEN = "open"                         # created, waiting for the first-time runner
    IN_QUEUE = "in_queue"                 # claimed into a process's memory queue
    PROCESSING = "processing"             # a worker is running it
    COMPLETED = "completed"               # finished successfully (terminal)
    FAILED = "failed"                     # failed, will be retried after run_after
    RETRY_IN_QUEUED = "retry_in_queued"   # claimed by the retry runner
    CANCELLED = "cancelled"               # stopped by a user (terminal)
    DEAD = "dead"                         # failed with no retries left (terminal)


ALL_STATUSES: tuple[str, ...] = tuple(s.value for s in Status)


def retry_delay(retry_interval: int, attempt: int, backoff: str) -> timedelta:
    """Wait before the next try after failed attempt number `attempt` (1-based)."""
    if backoff == "exponential":
        return timedelta(seconds=retry_interval * 2 ** max(attempt - 1, 0))
    return timedelta(seconds=retry_interval)


def after_failure(
    attempts_before: int, retry_count: int, retry_interval: int, now: datetime, backoff: str
) -> tuple[Status, datetime | None]:
    """State and run_after of a job whose run just failed.

    `retry_count` is how many retries the job may have, so it may run 1 + retry_count times.
    """
    attempt = attempts_before + 1
    if attempt > retry_count:
        return Status.DEAD, None
    return Status.FAILED, now + retry_delay(retry_interval, attempt, backoff)
