"""The restart policy for crashed services, written down in one place.

A service that raises is restarted after a backoff (0.5 s doubling, at most 30 s). If one service
crashes more than RESTART_LIMIT times within RESTART_WINDOW_SECONDS, the daemon gives up and exits
with status 70 (EX_SOFTWARE), so systemd (Restart=on-failure) or the container runtime restarts the
whole process. A service that fails before it reports itself started fails the start at once.
Database outages are not crashes: the loops wait them out themselves (supervisor.runtime.loops).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio
from anyio.abc import TaskStatus

from supervisor.metrics import SERVICE_RESTARTS
from supervisor.runtime.waiting import Backoff, wait_any, wait_retry
from supervisor.store.db import is_transient

log = logging.getLogger("supervisor.runtime.supervise")
EX_SOFTWARE = 70

ServiceRun = Callable[..., Awaitable[None]]


class ServiceFailed(RuntimeError):
    """A service crashed more often than the policy allows."""


class StartupFailure(RuntimeError):
    """An expected reason a service cannot start; the process prints it and exits `status`."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class RestartPolicy:
    """At most `limit` restarts of one service per `window` seconds."""

    limit: int = 5
    window: float = 300.0
    crashes: deque[float] = field(default_factory=deque)

    def allow(self, now: float) -> bool:
        """Record a crash at `now`; False once the window holds more than `limit`."""
        self.crashes.append(now)
        while self.crashes and self.crashes[0] < now - self.window:
            self.crashes.popleft()
        return len(self.crashes) <= self.limit


class _Started:
    """Wraps the real task status so we know whether the service got as far as started()."""

    def __init__(self, inner: TaskStatus[None]) -> None:
        self.inner = inner
        self.done = False

    def started(self, value: None = None) -> None:
        if not self.done:
            self.done = True
            self.inner.started()


async def supervise(
    name: str, run: ServiceRun, stopping: asyncio.Event, policy: RestartPolicy, *,
    backoff: Backoff | None = None, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Run a service, restarting it by the policy until `stopping`."""
    status = _Started(task_status)
    backoff = backoff or Backoff()
    while True:
        try:
            await run(stopping, task_status=status)
            return
        except Exception as exc:
            if not status.done:
                raise
            if stopping.is_set():
                log.exception("service failed while stopping", extra={
                    "action": "service_crash", "service": name})
                return
            if not policy.allow(time.monotonic()):
                raise ServiceFailed(
                    f"service {name!r} crashed {len(policy.crashes)} times within "
                    f"{policy.window:g}s; giving up") from exc
            delay = backoff.next()
            SERVICE_RESTARTS.labels(name).inc()
            log.exception("service crashed; restarting", extra={
                "action": "service_crash", "service": name, "delay": delay})
            if is_transient(exc):  # crashed of an outage: retry as soon as the database is back
                await wait_retry(delay, stopping)
            else:
                await wait_any(stopping, timeout=delay)
            if stopping.is_set():
                return
