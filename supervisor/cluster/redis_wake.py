"""Wake-ups over Redis pub/sub, beside LISTEN/NOTIFY, for setups where NOTIFY cannot reach.

Redis is optional and never the source of truth: a lost message only means the fallback poll
finds the job. Topics are those of the WakeHub ('open', 'retry', 'schedules') and 'cancel:<uuid>'.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import quote
from uuid import UUID

import anyio
import redis.asyncio as aioredis
from anyio.abc import TaskStatus
from redis.exceptions import RedisError

from supervisor.cluster.listener import WakeHub
from supervisor.config import Config
from supervisor.runtime.waiting import Backoff, wait_any

log = logging.getLogger("supervisor.cluster.redis_wake")
CHANNEL = "supervisor:wake"


def redis_url(config: Config) -> str | None:
    """A redis:// URL from REDIS_HOST (host, host:port or a URL) and REDIS_PASSWORD."""
    host = config.redis_host
    if not host:
        return None
    if "://" in host:
        return str(host)
    name, _, port = str(host).partition(":")
    auth = f":{quote(str(config.redis_password), safe='')}@" if config.redis_password else ""
    return f"redis://{auth}{name}:{port or 6379}/0"


class RedisWake:
    """Publishes this process's wake-ups and turns other processes' into local ones."""

    def __init__(self, client: aioredis.Redis, hub: WakeHub) -> None:
        self.client = client
        self.hub = hub
        self.received = 0

    async def publish(self, topic: str) -> None:
        """Tell every process; a Redis failure is logged, never raised (polling covers it)."""
        try:
            await self.client.publish(CHANNEL, topic)
        except (RedisError, OSError) as exc:
            log.debug("redis publish failed", extra={"action": "redis_wake", "error": str(exc)})

    def _deliver(self, topic: str) -> None:
        self.received += 1
        if topic.startswith("cancel:"):
            try:
                self.hub.cancel(UUID(topic.removeprefix("cancel:")))
            except ValueError:
                log.warning("bad cancel message", extra={"action": "redis_wake", "topic": topic})
        else:
            self.hub.wake(topic)

    async def run(
        self, stopping: asyncio.Event, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Stay subscribed until `stopping`, resubscribing after a Redis outage."""
        backoff = Backoff()
        started = False
        while not stopping.is_set():
            try:
                async with self.client.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    if not started:
                        started = True
                        task_status.started()
                    else:
                        self.hub.wake_all()  # messages may have been missed meanwhile
                    backoff.reset()
                    await self._listen(pubsub, stopping)
            except (RedisError, OSError) as exc:
                delay = backoff.next()
                log.warning("redis wake-ups unavailable, retrying", extra={
                    "action": "redis_wake", "error": str(exc), "delay": delay})
                if not started:
                    started = True
                    task_status.started()  # Redis is optional: never hold up the start
                await wait_any(stopping, timeout=delay)

    async def _listen(self, pubsub: aioredis.client.PubSub, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is not None:
                data = message["data"]
                self._deliver(data.decode() if isinstance(data, bytes) else str(data))
