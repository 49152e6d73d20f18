"""X-API-Key authentication: hashed keys, constant-time comparison, a short verified cache."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from fastapi import Request

from supervisor.api.batcher import CreateBatcher
from supervisor.api.context import RuntimeLike
from supervisor.api.errors import ApiError
from supervisor.schedule.service import ScheduleService
from supervisor.store.api_keys import ApiKeyStore

CACHE_SECONDS = 5.0  # a revoked key keeps working this long in a running API process
CACHE_MAX = 1024

HEADER = "X-API-Key"
# Declared in the OpenAPI document by supervisor.api.openapi; read here straight from the
# headers, because a nested FastAPI dependency costs more per request than the check itself.
SECURITY_SCHEME = {"type": "apiKey", "in": "header", "name": HEADER,
                   "description": "An API key from `supervisor apikey create NAME`"}


class KeyChecker:
    """Verifies keys against the store, remembering recent successes for CACHE_SECONDS."""

    def __init__(self, store: ApiKeyStore, ttl: float = CACHE_SECONDS) -> None:
        self.store = store
        self.ttl = ttl
        # sha256 of the key -> monotonic expiry; a dict hit compares digests, never keys
        self._good: dict[bytes, float] = {}

    async def check(self, key: str) -> bool:
        """True if `key` is a live key."""
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
        now = time.monotonic()
        expiry = self._good.get(digest)
        if expiry is not None and expiry > now:
            return True
        if await self.store.verify(key) is None:
            self._good.pop(digest, None)
            return False
        if len(self._good) >= CACHE_MAX:
            self._good.clear()
        self._good[digest] = now + self.ttl
        return True

    def forget(self) -> None:
        """Drop the cache (after a revocation in this process)."""
        self._good.clear()


@dataclass
class ApiContext:
    """Everything a route needs, built once per app."""

    runtime: RuntimeLike
    keys: KeyChecker
    schedules: ScheduleService
    batcher: CreateBatcher


async def authorized(request: Request) -> ApiContext:
    """The app's context if the request carries a live X-API-Key; 401 otherwise."""
    ctx: ApiContext = request.app.state.ctx
    key = request.headers.get(HEADER)
    if not key:
        raise ApiError(401, "ERR_UNAUTHORIZED: the X-API-Key header is missing; send a key "
                       "made with `supervisor apikey create NAME`", "X-API-Key")
    if not await ctx.keys.check(key):
        raise ApiError(401, "ERR_UNAUTHORIZED: the X-API-Key is not a live API key; check it, "
                       "or make a new one with `supervisor apikey create NAME`", "X-API-Key")
    return ctx
