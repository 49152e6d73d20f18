"""Fixtures of the customer data tests: the cdp schema on this test's database, a store."""

from __future__ import annotations

from importlib import resources

import asyncpg
import pytest

from services.cdp.store import CdpStore


async def ensure_cdp_schema(pool: asyncpg.Pool) -> None:
    """Apply the cdp migrations unless the template already has them."""
    async with pool.acquire() as conn:
        if await conn.fetchval("SELECT to_regclass('cdp_events') IS NOT NULL"):
            return
        folder = resources.files("services.cdp") / "migrations"
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".sql"):
                async with conn.transaction():
                    await conn.execute(entry.read_text())


@pytest.fixture
async def cdp(pool: asyncpg.Pool) -> CdpStore:
    """The customer data store on this test's database."""
    await ensure_cdp_schema(pool)
    return CdpStore(pool)
