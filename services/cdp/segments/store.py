"""The segments store: segment records, and the statements that segment profiles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from services.cdp.model import iso
from services.cdp.segments.condition import compile_sql
from services.cdp.segments.condition import tree as t
from services.cdp.segments.model import SegmentIn
from services.cdp.segments.triggers import TriggerIn
from services.cdp.store import q

HITS_SLOT = "ARRAY[]::boolean[] /*hits*/"
HAS_SLOT = "ARRAY[]::boolean[] /*has*/"
FIXED_PARAMS = 9  # seg_apply's own parameters; the compiled conditions' come after


@dataclass
class Outcome:
    """What one segmentation statement changed."""

    profiles: int = 0
    added: int = 0
    removed: int = 0
    fired: int = 0

    def add(self, row: asyncpg.Record) -> None:
        """Count in one statement's result row."""
        self.profiles += row["profiles"]
        self.added += row["added"]
        self.removed += row["removed"]
        self.fired += row["fired"]

    def as_dict(self) -> dict[str, int]:
        """JSON-friendly counts."""
        return {"profiles": self.profiles, "added": self.added, "removed": self.removed,
                "fired": self.fired}


@dataclass
class Plan:
    """seg_apply with the conditions of some segments in its slot, for one evaluation time."""

    segment_ids: list[str]
    sql: str
    params: list[Any]
    now: datetime


def plan(segments: Sequence[tuple[str, t.Condition]], now: datetime) -> Plan:
    """The segmentation statement of these (id, condition) pairs."""
    params: list[Any] = []
    parts = []
    for _, cond in segments:
        compiled = compile_sql(cond, {"profile": "doc"}, now, FIXED_PARAMS + 1 + len(params))
        parts.append(compiled.sql)
        params.extend(compiled.params)
    sql = q("seg_apply")
    assert HITS_SLOT in sql and HAS_SLOT in sql
    if parts:
        has = [f"old ? ($4::text[])[{i}]" for i in range(1, len(parts) + 1)]
        sql = sql.replace(HITS_SLOT, f"ARRAY[{', '.join(parts)}]::boolean[]", 1)
        sql = sql.replace(HAS_SLOT, f"ARRAY[{', '.join(has)}]::boolean[]", 1)
    return Plan([sid for sid, _ in segments], sql, params, now)


class SegmentStore:
    """Segments and segmentation over an asyncpg pool (or one connection's transaction)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def save(self, seg: SegmentIn) -> asyncpg.Record:
        """Create or replace a segment (its condition already checked)."""
        row = await self.pool.fetchrow(
            q("seg_upsert"), seg.id, seg.name, seg.description, seg.event_type, seg.type,
            seg.condition, seg.workflow, seg.enabled)
        assert row is not None
        return row

    async def get(self, sid: str) -> asyncpg.Record | None:
        """One segment by id."""
        return await self.pool.fetchrow(q("seg_get"), sid)

    async def all(self) -> list[asyncpg.Record]:
        """Every segment, by id."""
        return list(await self.pool.fetch(q("seg_list")))

    async def set_enabled(self, sid: str, enabled: bool) -> asyncpg.Record | None:
        """Enable or disable a segment; None when there is none with that id."""
        return await self.pool.fetchrow(q("seg_set_enabled"), sid, enabled)

    async def remove(self, sid: str) -> bool:
        """Delete a segment (profiles keep the id until the next segmentation job)."""
        return await self.pool.fetchval(q("seg_delete"), sid) is not None

    async def enabled(self, kind: str) -> list[asyncpg.Record]:
        """Enabled segments of one kind ('condition' or 'workflow')."""
        return list(await self.pool.fetch(q("seg_enabled"), kind))

    async def for_event_types(self, types: Sequence[str]) -> list[asyncpg.Record]:
        """Enabled conditional segments listening to any of these event types."""
        return list(await self.pool.fetch(q("seg_for_event_types"), list(types)))

    async def apply(self, p: Plan, *, after: str = "", upto: str = "",
                    ids: Sequence[str] = (), origin: str = "segmentation",
                    job: UUID | None = None, triggers: bool = False) -> asyncpg.Record:
        """Run a plan on profiles after < id <= upto, or on `ids`; one transaction."""
        row = await self.pool.fetchrow(
            p.sql, after, upto, list(ids), p.segment_ids, iso(p.now), p.now, origin, job,
            triggers, *p.params)
        assert row is not None
        return row

    async def apply_decisions(self, segment: str, decisions: dict[str, bool], now: datetime,
                              job: UUID | None, triggers: bool) -> asyncpg.Record:
        """Workflow segmentation of one page: add or remove `segment` as decided."""
        ids = list(decisions)
        row = await self.pool.fetchrow(
            q("seg_apply_decisions"), ids, [decisions[i] for i in ids], segment, iso(now), now,
            job, triggers)
        assert row is not None
        return row

    async def profile_doc(self, profile_id: str) -> dict[str, Any] | None:
        """One profile's document."""
        rows = await self.pool.fetch(q("seg_profiles"), [profile_id])
        return dict(rows[0]["doc"]) if rows else None

    async def page(self, after: str, size: int) -> list[asyncpg.Record]:
        """The next `size` profiles (id, doc) after `after`."""
        return list(await self.pool.fetch(q("seg_page"), after, size))

    async def take_queued(self, limit: int) -> list[str]:
        """Profile ids the heartbeat queued, taken off the queue."""
        return [r["profile_id"] for r in await self.pool.fetch(q("seg_queue_take"), limit)]

    async def post_event_add(self, profile_id: str, segment_ids: Sequence[str],
                             triggers: bool) -> asyncpg.Record:
        """Add segment ids to one profile (add-only), logging and firing as seg_apply does."""
        row = await self.pool.fetchrow(q("seg_post_event_add"), profile_id, list(segment_ids),
                                       triggers)
        assert row is not None
        return row

    async def changes(self, profile_id: str | None = None, limit: int = 1000
                      ) -> list[asyncpg.Record]:
        """Logged segment changes, oldest first."""
        return list(await self.pool.fetch(q("seg_changes"), profile_id, limit))

    async def segment_exists(self, sid: str) -> bool:
        """Whether a segment with this id is defined."""
        return bool(await self.pool.fetchval(q("seg_segment_exists"), sid))

    async def save_trigger(self, rule: TriggerIn) -> asyncpg.Record:
        """Create or replace a trigger rule."""
        job_type, data, retries, interval = rule.compiled()
        row = await self.pool.fetchrow(
            q("trig_upsert"), rule.rule_id, rule.name, rule.type, rule.segment.id,
            rule.action.model_dump(), job_type, data, retries, interval, rule.enabled)
        assert row is not None
        return row

    async def triggers(self) -> list[asyncpg.Record]:
        """Every trigger rule."""
        return list(await self.pool.fetch(q("trig_list")))

    async def trigger(self, rid: str) -> asyncpg.Record | None:
        """One trigger rule."""
        return await self.pool.fetchrow(q("trig_get"), rid)

    async def remove_trigger(self, rid: str) -> bool:
        """Delete a trigger rule."""
        return await self.pool.fetchval(q("trig_delete"), rid) is not None
