"""Hand-written timelines for heartbeat tests: events loaded with their own times."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from services.cdp.heartbeat.params import HeartbeatParams
from services.cdp.heartbeat.pg import HeartbeatResult, run_pg
from services.cdp.loader import EventDoc, store_batch, to_event
from services.cdp.model import HEARTBEAT_SOURCE_ID, INTERNAL_SOURCE_ID
from services.cdp.store import CdpStore

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
WEB, HB, INTERNAL = "web", HEARTBEAT_SOURCE_ID, INTERNAL_SOURCE_ID
_ids = itertools.count(1)


def at(hour: int, minute: int = 0, day: int = 10, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def ev(session: str, profile: str, type_: str, when: datetime, source: str = WEB) -> EventDoc:
    return EventDoc.model_validate({
        "id": f"e{next(_ids)}", "type": type_, "metadata": {"time": {"insert": when.isoformat()}},
        "source": {"id": source}, "session": {"id": session}, "profile": {"id": profile},
        "properties": {}})


async def load(cdp: CdpStore, *docs: EventDoc) -> None:
    await store_batch(cdp, [to_event(d) for d in docs])


async def beat(cdp: CdpStore, now: datetime = NOW, page_size: int = 2,
               **data: Any) -> HeartbeatResult:
    """One heartbeat pass with job data `data` (lower-case keys, as in config.toml)."""
    params = HeartbeatParams.model_validate({**data, "page_size": page_size})
    return await run_pg(cdp, params, now)


async def emitted(cdp: CdpStore, type_: str) -> list[tuple[str | None, str | None]]:
    """(session, profile) of every heartbeat-source event of a type, sorted."""
    async with cdp.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT session_id, profile_id FROM cdp_events WHERE type = $1 AND source_id = $2 "
            "AND insert_time = $3 ORDER BY session_id, profile_id", type_, HB, NOW)
    return [(r["session_id"], r["profile_id"]) for r in rows]
