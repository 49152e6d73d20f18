"""Helpers for the HTTP API tests: an app on the test database and a key to call it with."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx

from supervisor.api.app import create_app
from supervisor.api.context import StandaloneRuntime
from supervisor.config import Config
from supervisor.families import discover
from supervisor.store.api_keys import ApiKeyStore
from supervisor.store.jobs import JobStore


def standalone(pool: asyncpg.Pool, config: Config) -> StandaloneRuntime:
    """A runtime stand-in on the test database with the shipped job types."""
    return StandaloneRuntime(config, discover(), pool, JobStore(pool))


@asynccontextmanager
async def api_client(pool: asyncpg.Pool, config: Config, **app_options: Any,
                     ) -> AsyncIterator[tuple[httpx.AsyncClient, StandaloneRuntime]]:
    """A client for an in-process app, sending a freshly made API key on every request."""
    key, _ = await ApiKeyStore(pool).create("tests")
    rt = standalone(pool, config)
    app = create_app(rt, **app_options)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test",
                                 headers={"X-API-Key": key}) as client:
        yield client, rt
