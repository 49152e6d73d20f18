"""The `segmentation` job type: conditional segments over every (or every queued) profile,
and the page jobs of workflow segments."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Literal

import asyncpg
from pydantic import BaseModel, ConfigDict, Field

from services.cdp.page_walk import Page, walk_pages
from services.cdp.segments.condition import tree as t
from services.cdp.segments.model import check_condition
from services.cdp.segments.resources import SegmentsResources
from services.cdp.segments.store import Outcome, Plan, SegmentStore, plan
from services.cdp.store import q
from supervisor.jobtypes import JobContext, JobDefaults

log = logging.getLogger("services.cdp.segments")


class SegmentationPayload(BaseModel):
    """`scope`: 'all' profiles (then the heartbeat's queue), or only the 'queued' ones;
    `segments`: only these segment ids (all enabled ones when empty)."""

    model_config = ConfigDict(extra="forbid")
    scope: Literal["all", "queued"] = "all"
    segments: list[str] = Field(default_factory=list, max_length=1000)
    workflow: bool = True


def _parsed(rows: list[Any], only: list[str]) -> list[tuple[str, t.Condition]]:
    wanted = set(only)
    return [(r["id"], check_condition(r["condition"], f"segment {r['id']}.condition"))
            for r in rows if not wanted or r["id"] in wanted]


class Segmentation:
    """Adds each enabled segment's id where its condition holds and removes it where not."""

    name = "segmentation"
    payload_model = SegmentationPayload
    defaults = JobDefaults(retry_count=2, retry_interval=60, timeout=6 * 3600, concurrency=1)

    async def run(self, ctx: JobContext[SegmentsResources], payload: SegmentationPayload
                  ) -> dict[str, Any]:
        """Walk the profiles in saves of POOL_SIZE x SAVE_AFTER_POOLS, checkpointing each."""
        res = ctx.resources
        store = SegmentStore(res.pool)
        state = dict(ctx.checkpoint_state or {})
        # One evaluation time for the whole run, kept across attempts so pages agree.
        now = datetime.fromisoformat(state["now"]) if "now" in state else datetime.now(UTC)
        state.setdefault("now", now.isoformat())
        segs = _parsed(await store.enabled("condition"), payload.segments)
        p = plan(segs, now)
        total = Outcome(**state.get("outcome", {}))
        chunk = res.settings.pool_size * res.settings.save_after_pools
        triggers = res.settings.enable_segmentation_wf_triggers
        if segs and payload.scope == "all":
            await self._scan(ctx, store, p, state, total, chunk, triggers)
        if segs:
            await self._queue(ctx, store, p, total, chunk, triggers)
        pages = 0
        if payload.workflow:  # page job uuids derive from this job: a retry adds none twice
            pages = await enqueue_workflow_pages(ctx, store, payload.segments, triggers)
        log.info("segmentation done", extra={"action": "segmentation_done", "job": ctx.uuid,
                                             **total.as_dict()})
        return {"segments": [sid for sid, _ in segs], **total.as_dict(),
                "workflow_pages": pages, "messages": f"{total.profiles} profile(s) changed"}

    async def _scan(self, ctx: JobContext[SegmentsResources], store: SegmentStore, p: Plan,
                    state: dict[str, Any], total: Outcome, chunk: int, triggers: bool) -> None:
        # The progress bar's total; profiles created during the scan can take `done` past it.
        of = int(await store.pool.fetchval(q("cdp_profiles_count")))

        async def save(after: str, upto: str) -> asyncpg.Record:
            return await store.apply(p, after=after, upto=upto, job=ctx.uuid, triggers=triggers)

        async def saved(pages: list[Page[asyncpg.Record]]) -> None:
            # A save repeated after a crash before this checkpoint changes nothing: it only
            # adds and removes what still differs.
            for page in pages:
                total.add(page.result)
            done = int(state.get("done", 0)) + sum(page.profiles for page in pages)
            state.update(after=pages[-1].upto, done=done, outcome=total.as_dict())
            await ctx.checkpoint(state)  # a save: the next attempt resumes after `after`
            await ctx.progress(done, max(of, done), f"profiles up to {pages[-1].upto!r} segmented")

        await walk_pages(store.pool, str(state.get("after", "")), chunk,
                         ctx.resources.settings.segmentation_parallel, save, saved,
                         ctx.should_stop)
        if ctx.should_stop():
            ctx.stop()

    async def _queue(self, ctx: JobContext[SegmentsResources], store: SegmentStore, p: Plan,
                     total: Outcome, chunk: int, triggers: bool) -> None:
        # Taking from the queue and segmenting are two statements: a crash between them loses
        # the queue entries, which the next heartbeat run queues again (idle profiles stay idle).
        while ids := await store.take_queued(chunk):
            total.add(await store.apply(p, ids=ids, job=ctx.uuid, triggers=triggers))
            if ctx.should_stop():
                ctx.stop()


async def enqueue_workflow_pages(ctx: JobContext[SegmentsResources], store: SegmentStore,
                                 only: list[str], triggers: bool) -> int:
    """One job of the segment's workflow type per page of POOL_SIZE profiles, so a page whose
    code fails fails alone; job uuids derive from this job, so a retry adds no duplicates."""
    rows = [r for r in await store.enabled("workflow") if not only or r["id"] in only]
    size = ctx.resources.settings.pool_size
    made = 0
    for row in rows:
        after, n = "", 0
        while page := await store.page(after, size):
            ids = [r["id"] for r in page]
            data = {"segment": row["id"], "profile_ids": ids, "triggers": triggers}
            await ctx.db.execute(q("seg_enqueue_page"), str(ctx.uuid), row["id"], n,
                                 row["workflow"], data)
            after, n, made = ids[-1], n + 1, made + 1
    return made


class WorkflowPage(BaseModel):
    """One page of a workflow segment: the profiles the user's code decides on."""

    model_config = ConfigDict(extra="forbid")
    segment: str = Field(min_length=1)
    profile_ids: list[str] = Field(min_length=1, max_length=10_000)
    triggers: bool = False


class WorkflowSegmentation:
    """Base of a user's workflow segment job type: implement `decide`, name it in the segment.

        class Loyal(WorkflowSegmentation):
            name = "loyal_customers"
            async def decide(self, ctx, profiles): return {p["id"] for p in profiles if ...}
    """

    name = "workflow_segmentation"
    payload_model = WorkflowPage

    async def decide(self, ctx: JobContext[Any], profiles: list[dict[str, Any]]) -> set[str]:
        """The ids of `profiles` (documents) that belong to the segment."""
        raise NotImplementedError

    async def run(self, ctx: JobContext[Any], payload: WorkflowPage) -> dict[str, Any]:
        """Load the page, ask `decide`, add or remove the segment id accordingly."""
        rows = await ctx.db.fetch(q("seg_profiles"), payload.profile_ids)
        docs = [r["doc"] for r in rows]
        members = await self.decide(ctx, docs)
        decisions = {d["id"]: d["id"] in members for d in docs}
        row = await SegmentStore(ctx.db).apply_decisions(
            payload.segment, decisions, datetime.now(UTC), ctx.uuid, payload.triggers)
        return {"profiles": row["profiles"], "added": row["added"], "removed": row["removed"],
                "fired": row["fired"]}
