"""A family's page joins the dashboard: nav, session, templates, escaping, without runtime edits."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from supervisor.api.app import create_app
from supervisor.api.context import StandaloneRuntime
from supervisor.config import Config
from supervisor.families import Families, Family
from supervisor.store.api_keys import ApiKeyStore
from supervisor.store.jobs import JobStore
from tests.integration import ui_family
from tests.integration.api_support import standalone
from tests.integration.ui_support import log_in


async def test_a_family_page_is_served_in_the_nav(pool: asyncpg.Pool, config: Config) -> None:
    key, _ = await ApiKeyStore(pool).create("family")
    app = create_app(standalone(pool, config), pages=[ui_family.page])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://dash.test") as client:
        assert (await client.get("/ui/contacts")).status_code == 303  # needs a session
        await log_in(client, key)
        page = await client.get("/ui/contacts")
        assert page.status_code == 200 and '<p id="count">0 jobs' in page.text
        assert "&lt;Acme &amp; Co&gt;" in page.text
        assert '<a href="/ui/contacts" aria-current="page">Contacts</a>' in page.text
        overview = await client.get("/ui")
        nav = overview.text[overview.text.index("<nav"):overview.text.index("</nav>")]
        assert [t for t in ("Overview", "Jobs", "Schedules", "Processes", "Contacts")
                if t in nav] == ["Overview", "Jobs", "Schedules", "Processes", "Contacts"]
        assert nav.index("Processes") < nav.index("Contacts")
        assert "content-security-policy" in page.headers


async def test_a_familys_declared_pages_are_mounted(pool: asyncpg.Pool, config: Config) -> None:
    families = Families([Family("contactsui", pages=(ui_family.page,))])
    runtime = StandaloneRuntime(config, families, pool, JobStore(pool))
    key, _ = await ApiKeyStore(pool).create("family")
    app = create_app(runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://dash.test") as client:
        await log_in(client, key)
        assert (await client.get("/ui/contacts")).status_code == 200
    broken = Families([Family("broken", pages=("not a page",))])
    with pytest.raises(TypeError, match="family 'broken' lists 'not a page' in pages"):
        create_app(StandaloneRuntime(config, broken, pool, JobStore(pool)))
