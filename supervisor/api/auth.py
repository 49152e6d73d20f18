"""X-API-Key authentication: hashed keys, constant-time comparison, a short verified cache.

A read-only key (`supervisor apikey create --read-only`) may call every route that changes
nothing: GET/HEAD/OPTIONS, and POST routes marked with `reads_only` (the job list). Any other
route refuses it with 403, so a new state-changing route is safe without remembering to ask.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import Request

from supervisor.api.batcher import CreateBatcher
from supervisor.api.context import RuntimeLike
from supervisor.api.errors import ApiError
from supervisor.schedule.service import ScheduleService
from supervisor.store.api_keys import ApiKeyStore, KeyInfo

CACHE_SECONDS = 5.0  # a revoked key keeps working this long in a running API process
CACHE_MAX = 1024

HEADER = "X-API-Key"
# Declared in the OpenAPI document by supervisor.api.openapi; read here straight from the
# headers, because a nested FastAPI dependency costs more per request than the check itself.
SECURITY_SCHEME = {"type": "apiKey", "in": "header", "name": HEADER,
                   "description": "An API key from `supervisor apikey create NAME`"}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_READS_ONLY = "_supervisor_reads_only"
F = TypeVar("F", bound=Callable[..., Any])


def reads_only(endpoint: F) -> F:
    """Mark a POST route that changes nothing, so read-only keys may call it."""
    setattr(endpoint, _READS_ONLY, True)
    return endpoint


def changes_state(request: Request) -> bool:
    """True unless the request's method or route is one that only reads."""
    if request.method in SAFE_METHODS:
        return False
    route = request.scope.get("route")
    return not getattr(getattr(route, "endpoint", None), _READS_ONLY, False)


class KeyChecker:
    """Verifies keys against the store, remembering recent successes for CACHE_SECONDS."""

    def __init__(self, store: ApiKeyStore, ttl: float = CACHE_SECONDS) -> None:
        self.store = store
        self.ttl = ttl
        # sha256 of the key -> (monotonic expiry, who); a dict hit compares digests, never keys
        self._good: dict[bytes, tuple[float, KeyInfo]] = {}

    async def check(self, key: str) -> KeyInfo | None:
        """The id and kind of `key` if it is a live key, else None."""
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
        now = time.monotonic()
        hit = self._good.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        info = await self.store.identify(key)
        if info is None:
            self._good.pop(digest, None)
            return None
        if len(self._good) >= CACHE_MAX:
            self._good.clear()
        self._good[digest] = (now + self.ttl, info)
        return info

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
    """The app's context if the request carries a live X-API-Key allowed this route."""
    ctx: ApiContext = request.app.state.ctx
    key = request.headers.get(HEADER)
    if not key:
        raise ApiError(401, "ERR_UNAUTHORIZED: the X-API-Key header is missing; send a key "
                       "made with `supervisor apikey create NAME`", "X-API-Key")
    info = await ctx.keys.check(key)
    if info is None:
        raise ApiError(401, "ERR_UNAUTHORIZED: the X-API-Key is not a live API key; check it, "
                       "or make a new one with `supervisor apikey create NAME`", "X-API-Key")
    if info.read_only and changes_state(request):
        raise ApiError(403, "ERR_READ_ONLY_KEY: this X-API-Key is read-only and may not change "
                       "anything; use a key made with `supervisor apikey create NAME` "
                       "(without --read-only)", "X-API-Key")
    return ctx
