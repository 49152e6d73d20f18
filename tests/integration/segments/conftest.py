"""Fixtures of the segments tests: a pool on a database with the cdp family's tables."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest

from services.cdp.segments.resources import SegmentsResources, SegmentsSettings
from services.cdp.store import CdpStore
from supervisor.jobtypes import JobContext
from supervisor.store.migrate import migrate

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def seg_pool(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Pool]:
    """The test's pool, its database migrated for the cdp family (a no-op once discovered)."""
    async with pool.acquire() as conn:
        await migrate(conn, [("cdp", "services.cdp.migrations")])
    yield pool


def resources(pool: asyncpg.Pool, **settings: Any) -> SegmentsResources:
    """Resources as a process would open them, with these settings."""
    return SegmentsResources(pool, SegmentsSettings.model_validate(settings), CdpStore(pool))


def job_ctx(res: SegmentsResources, job_type: str = "segmentation",
            uuid: UUID | None = None) -> JobContext[SegmentsResources]:
    """A context like the runner's, without progress reporting."""
    return JobContext(uuid or uuid4(), job_type, 1, res, db=res.pool)


async def add_profiles(pool: asyncpg.Pool | asyncpg.Connection, docs: list[dict[str, Any]]) -> None:
    """Insert profile documents (each has an id) as the collector would keep them."""
    rows = []
    for d in docs:
        doc = {"metadata": {"time": {"insert": NOW.isoformat()}}, "segments": [], **d}
        rows.append((d["id"], json.dumps(doc), NOW, NOW))
    await pool.executemany(
        "INSERT INTO cdp_profiles (id, doc, insert_time, update_time) "
        "VALUES ($1, $2::text::jsonb, $3, $4)", rows)


async def segments_of(pool: asyncpg.Pool) -> dict[str, list[str]]:
    """Each profile's segments."""
    rows = await pool.fetch("SELECT id, doc FROM cdp_profiles ORDER BY id")
    return {r["id"]: list(r["doc"].get("segments", [])) for r in rows}
