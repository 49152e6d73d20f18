"""Job states and the rules that move a job between them."""

from __future__ import annotations

import random
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
TERMINAL: tuple[str, ...] = (Status.COMPLETED, Status.CANCELLED, Status.DEAD)
NOT_ENDED: tuple[str, ...] = tuple(s for s in ALL_STATUSES if s not in TERMINAL)
MAX_DELAY_SECONDS = 3600.0  # RETRY_MAX_DELAY_SECONDS' default
JITTER = 0.1  # an exponential wait is shortened by up to this fraction, so retries spread out


def retry_delay(
    retry_interval: int, attempt: int, backoff: str, *, max_delay: float = MAX_DELAY_SECONDS,
    jitter: float = JITTER, rng: random.Random | None = None,
) -> timedelta:
    """Wait before the next try after failed attempt number `attempt` (1-based).

    Exponential waits grow from `retry_interval` up to `max_delay` (never below the interval
    itself) and carry jitter; fixed waits are exactly `retry_interval`.
    """
    if backoff != "exponential":
        return timedelta(seconds=retry_interval)
    cap = max(float(retry_interval), max_delay)
    exponent = max(attempt - 1, 0)
    # Compare exponents, not products: 30 * 2**1000 is fine for int but not for timedelta.
    if retry_interval > 0 and exponent < 64 and retry_interval * 2**exponent < cap:
        seconds = float(retry_interval * 2**exponent)
    else:
        seconds = cap if retry_interval > 0 else 0.0
    # Jitter spreads retries of jobs that failed together, but never waits less than the interval.
    low = max(float(retry_interval), seconds * (1 - jitter))
    if seconds > low:
        seconds = low + (seconds - low) * (rng or random).random()
    return timedelta(seconds=seconds)


def after_failure(
    attempts_before: int, retry_count: int, retry_interval: int, now: datetime, backoff: str,
    *, max_delay: float = MAX_DELAY_SECONDS,
) -> tuple[Status, datetime | None]:
    """State and run_after of a job whose run just failed.

    `retry_count` is how many retries the job may have, so it may run 1 + retry_count times.
    """
    attempt = attempts_before + 1
    if attempt > retry_count:
        return Status.DEAD, None
    return Status.FAILED, now + retry_delay(retry_interval, attempt, backoff, max_delay=max_delay)
