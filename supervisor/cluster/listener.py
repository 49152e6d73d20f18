"""LISTEN/NOTIFY wake-ups: job creation wakes the runners within milliseconds."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

import anyio
import asyncpg
from anyio.abc import TaskStatus

from supervisor.runtime.waiting import Backoff, wait_any, wait_retry
from supervisor.store.db import connect, is_transient

log = logging.getLogger("supervisor.cluster.listener")
JOBS_CHANNEL = "supervisor_jobs"
CANCEL_CHANNEL = "supervisor_cancel"
SELF_TEST_SECONDS = 5.0


class WakeHub:
    """In-process fan-out: topics ('open', 'retry', 'schedules') to events, cancels to callbacks."""

    def __init__(self) -> None:
        self.events: dict[str, asyncio.Event] = {
            "open": asyncio.Event(), "retry": asyncio.Event(), "schedules": asyncio.Event()}
        self.cancel_handlers: list[Callable[[UUID], Any]] = []
        self.probes: dict[str, asyncio.Event] = {}

    def wake(self, topic: str) -> None:
        """Wake whoever waits on a topic; unknown topics wake everyone (be safe, not silent)."""
        event = self.events.get(topic)
        if event is not None:
            event.set()
        elif topic.startswith("probe:") and topic in self.probes:
            self.probes[topic].set()
        else:
            self.wake_all()

    def wake_all(self) -> None:
        """Wake every runner (after a reconnect, notifications may have been missed)."""
        for event in self.events.values():
            event.set()

    def cancel(self, uuid: UUID) -> None:
        """Tell the pools a job was cancelled."""
        for handler in self.cancel_handlers:
            handler(uuid)


class Listener:
    """Holds one LISTEN connection, reconnecting when it drops."""

    def __init__(self, dsn: str, hub: WakeHub) -> None:
        self.dsn = dsn
        self.hub = hub
        self.notifications_work: bool | None = None
        self.ready = False  # set once the first connection listens and passed the self-test

    def _on_notify(self, _c: Any, _pid: int, channel: str, payload: object) -> None:
        payload = str(payload)
        if channel == CANCEL_CHANNEL:
            try:
                self.hub.cancel(UUID(payload))
            except ValueError:
                log.warning("bad cancel payload", extra={"action": "notify", "payload": payload})
        else:
            self.hub.wake(payload)

    async def run(
        self, stopping: asyncio.Event, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Listen until `stopping`; the first connection also checks notifications arrive."""
        backoff = Backoff()
        while not stopping.is_set():
            try:
                await self._listen_once(stopping, task_status)
                backoff.reset()
            except Exception as exc:
                if not self.ready or not is_transient(exc):
                    raise  # failing before the first LISTEN fails the start
                delay = backoff.next()
                log.warning("lost the LISTEN connection, reconnecting", extra={
                    "action": "listen_retry", "error": str(exc), "delay": delay})
                await wait_retry(delay, stopping)

    async def _listen_once(self, stopping: asyncio.Event, task_status: TaskStatus[None]) -> None:
        conn = await connect(self.dsn)
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _c: lost.set())
        try:
            await conn.add_listener(JOBS_CHANNEL, self._on_notify)
            await conn.add_listener(CANCEL_CHANNEL, self._on_notify)
            if not self.ready:
                await self._self_test(conn)
                self.ready = True
                task_status.started()
            else:
                self.hub.wake_all()
                log.info("LISTEN connection restored", extra={"action": "listen"})
            while not stopping.is_set() and not lost.is_set():
                await wait_any(stopping, lost, timeout=30)
                if not lost.is_set() and not stopping.is_set():
                    await conn.execute("SELECT 1")  # notice a half-open connection
        finally:
            with anyio.CancelScope(shield=True):
                await _close_quietly(conn)
        if lost.is_set() and not stopping.is_set():
            raise ConnectionError("LISTEN connection closed")

    async def _self_test(self, conn: asyncpg.Connection) -> None:
        """Send ourselves a notification through a second connection and wait for it."""
        topic = f"probe:{uuid4()}"
        arrived = self.hub.probes[topic] = asyncio.Event()
        sender = await connect(self.dsn)
        try:
            await sender.execute("SELECT pg_notify($1, $2)", JOBS_CHANNEL, topic)
        finally:
            await _close_quietly(sender)
        self.notifications_work = await wait_any(arrived, timeout=SELF_TEST_SECONDS)
        del self.hub.probes[topic]
        if self.notifications_work:
            log.info("LISTEN/NOTIFY works: new jobs wake the runners at once",
                     extra={"action": "notify_check", "ok": True})
        else:
            log.warning("notifications do not arrive (a pooler in transaction mode?): new jobs "
                        "are found by polling only", extra={"action": "notify_check", "ok": False})


async def _close_quietly(conn: asyncpg.Connection) -> None:
    try:
        await conn.close(timeout=2)
    except Exception:  # closing a broken connection can fail in many ways; none matter here
        conn.terminate()
