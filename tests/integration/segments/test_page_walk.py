"""The page walk of segmentation and the mapping replay: no rounds, checkpoints in id order."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from services.cdp.page_walk import Page, walk_pages
from tests.integration.segments.conftest import add_profiles

IDS = [f"p{i:02d}" for i in range(1, 11)]  # 10 profiles: pages of 3 are p01-p03 ... p10


@pytest.fixture
async def ten(seg_pool: asyncpg.Pool) -> asyncpg.Pool:
    await add_profiles(seg_pool, [{"id": i} for i in IDS])
    return seg_pool


async def profiles_in(pool: asyncpg.Pool, after: str, upto: str) -> list[str]:
    rows = await pool.fetch("SELECT id FROM cdp_profiles WHERE id > $1 AND id <= $2 ORDER BY id",
                            after, upto)
    return [r["id"] for r in rows]


async def test_a_slow_page_holds_up_no_worker_and_reports_stay_in_id_order(
        ten: asyncpg.Pool) -> None:
    started: list[str] = []
    reports: list[list[str]] = []
    release_first = asyncio.Event()

    async def run(after: str, upto: str) -> list[str]:
        started.append(upto)
        if after == "":  # the first page waits until the second worker walked every other
            await release_first.wait()
        elif upto == IDS[-1]:
            release_first.set()
        return await profiles_in(ten, after, upto)

    async def done(pages: list[Page[list[str]]]) -> None:
        reports.append([p.upto for p in pages])

    await walk_pages(ten, "", 3, 2, run, done)
    # The second worker took pages 2, 3 and 4 while page 1 ran; nothing could be checkpointed
    # past page 1 before it ended, and then all four were reported at once, in id order.
    assert started == ["p03", "p06", "p09", "p10"]
    assert reports == [["p03", "p06", "p09", "p10"]]


async def test_every_profile_is_in_exactly_one_page_and_checkpoints_only_grow(
        ten: asyncpg.Pool) -> None:
    seen: list[str] = []
    marks: list[str] = []

    async def run(after: str, upto: str) -> list[str]:
        await asyncio.sleep(0.01 if upto == "p06" else 0)
        return await profiles_in(ten, after, upto)

    async def done(pages: list[Page[list[str]]]) -> None:
        for p in pages:
            seen.extend(p.result)
            assert p.profiles == len(p.result)  # the bounds query counts its page
        marks.append(pages[-1].upto)

    await walk_pages(ten, "p02", 3, 3, run, done)  # resumed after p02
    assert seen == IDS[2:]
    assert marks == sorted(marks) and marks[-1] == "p10"


async def test_a_failing_page_cancels_the_others_and_keeps_its_type(ten: asyncpg.Pool) -> None:
    cancelled = asyncio.Event()
    reports: list[str] = []

    async def run(after: str, upto: str) -> None:
        if after == "":
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                cancelled.set()
                raise
        raise LookupError(f"page after {after} refused")

    async def done(pages: list[Page[None]]) -> None:
        reports.extend(p.upto for p in pages)

    with pytest.raises(LookupError, match="after p03 refused"):
        await walk_pages(ten, "", 3, 2, run, done)
    assert cancelled.is_set() and reports == []


async def test_a_stop_starts_no_page_and_reports_the_pages_under_way(ten: asyncpg.Pool) -> None:
    stop = False
    started: list[str] = []
    reports: list[str] = []

    async def run(after: str, upto: str) -> None:
        nonlocal stop
        started.append(upto)
        stop = True  # asked to stop while the first pages run
        await asyncio.sleep(0.01)

    async def done(pages: list[Page[None]]) -> None:
        reports.extend(p.upto for p in pages)

    await walk_pages(ten, "", 3, 2, run, done, lambda: stop)
    assert started == ["p03"] and reports == ["p03"]
