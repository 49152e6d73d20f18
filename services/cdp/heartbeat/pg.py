"""The heartbeat on PostgreSQL: one set-based statement per page of candidates."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.cdp.datemath import Range, parse_range
from services.cdp.heartbeat.params import HeartbeatParams
from services.cdp.model import HEARTBEAT_SOURCE_ID
from services.cdp.store import CdpStore, q

QUERY = {
    "inactive-session": "cdp_hb_inactive_session",
    "session-not-closed": "cdp_hb_inactive_session",
    "visit-end": "cdp_hb_visit_end",
    "inactive-profile": "cdp_hb_inactive_profile",
    "profile-segmentation": "cdp_hb_profile_segmentation",
    "has-event": "cdp_hb_has_event",
}
SUBJECT = {"inactive-session": "sessions", "session-not-closed": "sessions",
           "visit-end": "sessions"}
# Called after each page with (subjects examined so far, the key the next page starts after).
PageHook = Callable[[int, str], Awaitable[None]]


@dataclass
class HeartbeatResult:
    """What one heartbeat pass did (merged into job_response)."""

    qualify_by: str
    range: Range
    now: datetime
    examined: int = 0
    emitted: int = 0
    stored: int = 0
    pages: int = 0
    after: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def report(self, params: HeartbeatParams) -> dict[str, Any]:
        """The JSON summary: counts examined, events emitted by type, the resolved range."""
        subject = SUBJECT.get(params.mode, "profiles")
        out: dict[str, Any] = {
            "qualify_by": self.qualify_by,
            "range": {"text": self.range.text, "gte": self.range.lo.isoformat(),
                      "lte": self.range.hi.isoformat()},
            "now": self.now.isoformat(),
            "examined": {subject: self.examined},
            "pages": self.pages,
            **self.extra,
        }
        if params.mode == "profile-segmentation":
            out["queued"] = {"segmentation_queue": self.emitted}
            out["emitted"] = {}
        else:
            out["emitted"] = {params.emits: self.emitted} if self.emitted else {}
            out["ephemeral"] = params.ephemeral
        return out


def mark_kind(params: HeartbeatParams) -> str:
    """The cdp_heartbeat_marks kind of a mode and its event type."""
    if params.mode == "visit-end":
        return f"visit-end:{params.open_event_type}>{params.close_event_type}"
    return f"{params.mode}:{params.emits}"


def page_args(params: HeartbeatParams, rng: Range, now: datetime, after: str) -> list[Any]:
    """The positional parameters of one page's statement."""
    mode = params.mode
    if mode == "profile-segmentation":
        cut = now - params.quiet
        return [rng.lo, rng.hi, after, params.page_size, cut, now,
                f"no activity within {params.no_events_within_last}", mark_kind(params)]
    config = json.dumps({"saveEvent": False} if params.ephemeral else {})
    args = [rng.lo, rng.hi, after, params.page_size, now - params.skip, now, params.emits,
            mark_kind(params), HEARTBEAT_SOURCE_ID, not params.ephemeral, config]
    if mode == "visit-end":
        args.append(params.open_event_type)
    elif mode == "inactive-profile":
        args.append(params.skip_seconds or 0)
    return args


async def run_pg(store: CdpStore, params: HeartbeatParams, now: datetime, *, after: str = "",
                 on_page: PageHook | None = None,
                 should_stop: Callable[[], bool] | None = None) -> HeartbeatResult:
    """One pass of a mode over RANGE, page by page from `after` (a checkpoint), against `now`."""
    rng = parse_range(params.range, now)
    result = HeartbeatResult(params.qualify_by, rng, now, after=after)
    await store.ensure_partitions([now])
    sql = q(QUERY[params.mode])
    while True:
        async with store.pool.acquire() as conn:
            row = await conn.fetchrow(sql, *page_args(params, rng, now, result.after))
        assert row is not None
        result.pages += 1
        result.examined += row["examined"]
        result.emitted += row["emitted"]
        result.stored += row["stored"]
        if row["examined"] < params.page_size or row["last_key"] is None:
            return result
        result.after = row["last_key"]
        if on_page is not None:
            await on_page(result.examined, result.after)
        if should_stop is not None and should_stop():
            result.extra["stopped_after"] = result.after
            return result
