"""The project's exceptions: one base class, and the errors a job raises to steer its retries."""

from __future__ import annotations


class SupervisorError(Exception):
    """Base of every error this project raises on purpose."""


class PermanentError(SupervisorError):
    """A job failure that no retry can fix (a missing object, bad data found at run time).

    The job ends `dead` at once; its retries are not spent on it.
    """


class RetryAfter(SupervisorError):
    """A job failure whose next try should wait exactly `seconds` (rate limits, busy peers)."""

    def __init__(self, seconds: float, message: str = "") -> None:
        if not 0 <= seconds <= 366 * 86400:
            raise ValueError(f"RetryAfter seconds must be from 0 to a year, got {seconds!r}")
        super().__init__(message or f"retry after {seconds:g}s")
        self.seconds = float(seconds)


class JobStopped(SupervisorError):
    """Raised by `JobContext.stop()`: the job ends its run early, as its stop reason says."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"stopped: {reason}")
        self.reason = reason
