"""Helpers for the dashboard tests: an in-process app, logging in, reading forms' tokens."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx

from supervisor.api.app import create_app
from supervisor.config import Config
from supervisor.store.api_keys import ApiKeyStore
from tests.integration.api_support import standalone

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The first CSRF token a page's forms carry."""
    match = _CSRF.search(html)
    assert match, html[:2000]
    return match[1]


async def log_in(client: httpx.AsyncClient, key: str) -> httpx.Response:
    """Fill in the login form with `key`, as a browser would."""
    form = await client.get("/ui/login")
    return await client.post("/ui/login", data={"key": key, "csrf": csrf_of(form.text),
                                                "next": "/ui"})


@asynccontextmanager
async def ui_client(pool: asyncpg.Pool, config: Config, *, kind: str = "full",
                    logged_in: bool = True) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A cookie-keeping client of an in-process app and its key (logged in unless told)."""
    key, _ = await ApiKeyStore(pool).create(f"ui-{kind}", kind)
    app = create_app(standalone(pool, config))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://dash.test") as client:
        if logged_in:
            done = await log_in(client, key)
            assert done.status_code == 303, done.text
        yield client, key
