"""Mapping records in PostgreSQL, applying them to profiles, and the replay job."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.cdp.mapping import ByType, MappingIn, apply_mappings, loaded
from services.cdp.mapping_pages import Window, replay_sql
from services.cdp.mapping_sql import compile_replay, refusal
from services.cdp.segments.condition import tree as t
from services.cdp.segments.resources import SegmentsResources
from services.cdp.store import q
from supervisor.jobtypes import JobContext, JobDefaults

log = logging.getLogger("services.cdp.mapping")


class MappingStore:
    """cdp_mappings, and profile updates from events."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def save(self, m: MappingIn) -> str:
        """Create or replace a mapping (checked by MappingIn and parsed())."""
        m.parsed()
        rules = [r.model_dump() for r in m.event_to_profile]
        return str(await self.pool.fetchval(
            q("map_upsert"), m.mapping_id, m.name, m.event_type.id, m.enabled,
            m.config.get("condition"), rules, m.tags))

    async def records(self, mid: str | None = None, *, enabled_only: bool = False,
                      types: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Mappings in their record shape."""
        rows = await self.pool.fetch(q("map_records"), mid, enabled_only,
                                     None if types is None else list(types))
        return [dict(r["record"]) for r in rows]

    async def for_types(self, types: Sequence[str]) -> list[asyncpg.Record]:
        """Enabled mapping rows (`record`) of these event types."""
        return list(await self.pool.fetch(q("map_records"), None, True, list(types)))

    async def set_enabled(self, mid: str, enabled: bool) -> bool:
        """Enable or disable one mapping."""
        return await self.pool.fetchval(q("map_set_enabled"), mid, enabled) is not None

    async def remove(self, mid: str) -> bool:
        """Delete one mapping."""
        return await self.pool.fetchval(q("map_delete"), mid) is not None

    async def apply_to_profile(self, profile_id: str, events: list[dict[str, Any]],
                               by_type: ByType) -> int:
        """Apply events' mappings to one profile, locked meanwhile; returns events mapped."""
        return await self.apply_to_profiles({profile_id: events}, by_type)

    async def apply_to_profiles(self, events: dict[str, list[dict[str, Any]]],
                                by_type: ByType) -> int:
        """Apply each profile's events (in order) in one transaction; returns events mapped."""
        mapped = 0
        async with self.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(q("map_lock_profiles"), sorted(events))
            ids, docs = [], []
            for row in rows:
                doc = dict(row["doc"])
                for ev in events.get(row["id"], []):
                    for w in apply_mappings(doc, ev, by_type.get(ev.get("type", ""), [])):
                        log.warning(w, extra={"action": "mapping_skipped",
                                              "profile": row["id"], "event": ev.get("id")})
                    mapped += 1
                ids.append(row["id"])
                docs.append(doc)
            await conn.execute(q("map_save_profiles"), ids, docs)
        return mapped


def read_keys(by_type: ByType) -> list[str]:
    """The top-level event keys the mappings read (values and conditions), with id and type."""
    keys = {"id", "type"}
    for mappings in by_type.values():
        for m, cond in mappings:
            keys.update(r.event.value.split(".")[0] for r in m.event_to_profile)
            if cond is not None:
                keys.update(f.path[0] for f in t.fields(cond) if f.source == "event")
    return sorted(keys)


class ReplayPayload(BaseModel):
    """Replay the mappings over events inserted in [`from`, `to`) (ISO 8601)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    since: datetime = Field(alias="from")
    until: datetime = Field(alias="to")
    mappings: list[str] = Field(default_factory=list, max_length=1000)
    page_size: int = Field(default=500, ge=1, le=10_000)  # profiles a page, Python engine
    sql_page_size: int = Field(default=5_000, ge=1, le=100_000)  # the same, SQL engine
    engine: Literal["auto", "python"] = "auto"  # "python": never the SQL engine
    # SQL engine: pages at once, a connection (a PostgreSQL core) each, as SEGMENTATION_PARALLEL
    page_workers: int = Field(default=2, ge=1, le=4)

    @model_validator(mode="after")
    def _order(self) -> ReplayPayload:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value.tzinfo is None:
                setattr(self, name, value.replace(tzinfo=UTC))
        if self.until <= self.since:
            raise ValueError("'to' must be after 'from'")
        return self


class PostCollectionMapping:
    """The `post_collection_mapping` job: profiles in id order, each page one transaction;
    running it twice over the same range gives the same profiles. The SQL engine
    (mapping_sql.py) computes a page in one statement; the Python engine applies the events
    one by one, for mappings the SQL one does not take (the result's `engine` says which)."""

    name = "post_collection_mapping"
    payload_model = ReplayPayload
    defaults = JobDefaults(retry_count=2, retry_interval=60, timeout=6 * 3600)

    async def run(self, ctx: JobContext[SegmentsResources], payload: ReplayPayload
                  ) -> dict[str, Any]:
        """Replay with the SQL engine when the mappings compile, else the Python one."""
        rows = await ctx.db.fetch(q("map_records"), None, True, None)
        by_type = loaded([r for r in rows if not payload.mappings or r["id"] in payload.mappings])
        types = sorted(by_type)
        why = "the payload asks for it" if payload.engine == "python" else refusal(by_type)
        plan = None if why else compile_replay(by_type, datetime.now(UTC))
        # Both engines' "after" means every profile up to that id is done: either resumes.
        state = {"after": "", "profiles": 0, "events": 0, **(ctx.checkpoint_state or {})}
        if types and plan is not None:
            window = Window(payload.since, payload.until, types, payload.sql_page_size,
                            payload.page_workers)
            await replay_sql(ctx, plan, window, state)
        elif types:
            await self._replay_python(ctx, payload, by_type, state)
        out: dict[str, Any] = {
            "engine": "python" if plan is None else "sql",
            "mappings": sum(len(v) for v in by_type.values()), "types": types,
            "profiles": state["profiles"], "events": state["events"]}
        if plan is None:
            out["engine_reason"] = why or "too many rules and conditions for one statement"
        else:
            out |= {k: state.get(k, {}) for k in ("skipped", "blocked")}
            out["updated"] = state.get("updated", 0)
        return out

    async def _replay_python(self, ctx: JobContext[SegmentsResources], payload: ReplayPayload,
                             by_type: ByType, state: dict[str, Any]) -> None:
        """Page through profiles with events of mapped types in the range, in Python."""
        store = MappingStore(ctx.resources.pool)
        types = sorted(by_type)
        keys = read_keys(by_type)
        while True:
            page = [r["profile_id"] for r in await ctx.db.fetch(
                q("map_replay_profiles"), state["after"], payload.since, payload.until,
                payload.page_size, types)]
            if not page:
                break
            events: dict[str, list[dict[str, Any]]] = {}
            for r in await ctx.db.fetch(q("map_replay_events"), page, payload.since,
                                        payload.until, types, keys):
                events.setdefault(r["profile_id"], []).append(r["doc"])
            state["events"] += await store.apply_to_profiles(events, by_type)
            state["profiles"] += len(page)
            state["after"] = page[-1]
            await ctx.checkpoint(state)
            await ctx.progress(state["profiles"], None, "profiles remapped")
            if ctx.should_stop():
                ctx.stop()
