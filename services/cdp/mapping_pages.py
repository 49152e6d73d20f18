"""The SQL replay engine's pages: one map_replay_page statement per page of cdp_profiles ids,
run again when a concurrent writer raced it, counted, checkpointed (see mapping_sql.py)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.cdp.mapping_sql import ReplayPlan
from services.cdp.page_walk import Page, walk_pages
from services.cdp.store import q
from supervisor.errors import RetryAfter
from supervisor.jobtypes import JobContext

log = logging.getLogger("services.cdp.mapping")
RACE_TRIES = 5  # runs of one page while concurrent writers keep changing its profiles
PAGE_MEMORY = "32MB"  # work_mem of a page (5,000 profiles, 50,000 events sort in about 9 MB)


@dataclass
class Window:
    """Events of `types` inserted in [since, until); pages of `size` profiles, `workers` at once."""

    since: datetime
    until: datetime
    types: list[str]
    size: int
    workers: int = 1


async def _page(pool: asyncpg.Pool, sql: str, args: Sequence[Any]) -> asyncpg.Record:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(q("map_page_memory"), PAGE_MEMORY)
        row = await conn.fetchrow(sql, *args)
    assert row is not None  # an aggregate query has its one row
    return row


async def run_page(db: asyncpg.Pool, plan: ReplayPlan, w: Window, after: str, upto: str
                   ) -> dict[str, Any]:
    """One page's statement, run again while concurrent writers changed its profiles."""
    # A page is idempotent: a second run maps what the guard left out, onto the fresh docs.
    args = (after, upto, w.since, w.until, w.types, *plan.params)
    first = dict(await _page(db, plan.sql, args))
    raced = first["raced"]
    for _ in range(RACE_TRIES - 1):
        if not raced:
            return first
        again = await _page(db, plan.sql, args)
        first["updated"] += again["updated"]
        raced = again["raced"]
    if raced:
        raise RetryAfter(5, f"profiles after {after!r} kept changing during the replay")
    return first


def count_in(state: dict[str, Any], plan: ReplayPlan, row: dict[str, Any]) -> None:
    """Add one page's counts to the job's state (per mapping for the skipped values)."""
    for key in ("profiles", "events", "updated"):
        state[key] = state.get(key, 0) + row[key]
    for key in ("skipped", "blocked"):
        totals = state.setdefault(key, {})
        for owner, n in zip(plan.owners, row[key], strict=False):
            if n:
                totals[owner] = totals.get(owner, 0) + n


def _warn(ctx: JobContext[Any], plan: ReplayPlan, row: dict[str, Any], after: str) -> None:
    page: dict[str, Any] = {}
    count_in(page, plan, row)
    if page["skipped"] or page["blocked"]:
        # One line a page where the Python engine logs one per value.
        log.warning("mapping replay left values out on a page", extra={
            "action": "mapping_skipped_page", "job": str(ctx.uuid), "after": after,
            "skipped": page["skipped"], "blocked": page["blocked"]})


async def replay_sql(ctx: JobContext[Any], plan: ReplayPlan, w: Window,
                     state: dict[str, Any]) -> None:
    """Page over cdp_profiles ids after state["after"], `w.workers` pages at once (page_walk)."""
    async def page(after: str, upto: str) -> dict[str, Any]:
        return await run_page(ctx.db, plan, w, after, upto)

    async def done(pages: list[Page[dict[str, Any]]]) -> None:
        for p in pages:
            _warn(ctx, plan, p.result, p.after)
            count_in(state, plan, p.result)
        state["after"] = pages[-1].upto
        await ctx.checkpoint(state)
        await ctx.progress(state["profiles"], None, "profiles remapped")

    await walk_pages(ctx.db, state["after"], w.size, w.workers, page, done, ctx.should_stop)
    if ctx.should_stop():
        ctx.stop()
