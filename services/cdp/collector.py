"""Collecting a tracker payload: sessions, profiles, the visit lifecycle's system events.

`collect()` is the one path every tracked payload takes (POST /track calls it): one statement
(`cdp_collect`) creates or updates the session and the profile, adds the system events and
stores the events; then the post-event hooks of services.cdp.hooks (segmentation, mapping) run
on what was stored.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from services.cdp import model
from services.cdp.hooks import run_post_event_hooks
from services.cdp.model import Event
from services.cdp.store import CdpStore, event_rows, q
from services.cdp.tracker import TrackerPayload, TrackEvent


@dataclass
class Collected:
    """What one payload produced: ids, the events in order (system ones first), refusals."""

    profile_id: str
    session_id: str
    source_id: str
    events: list[Event]
    refused: list[dict[str, Any]] = field(default_factory=list)
    profile_created: bool = False
    session_created: bool = False
    session_status: str = model.ACTIVE
    hook_failures: list[str] = field(default_factory=list)

    @property
    def ephemeral(self) -> list[Event]:
        """Events processed but not stored (options.saveEvent = false)."""
        return [e for e in self.events if not e.persistent]

    def answer(self) -> dict[str, Any]:
        """The JSON answer of POST /track."""
        return {
            "profile": {"id": self.profile_id, "created": self.profile_created},
            "session": {"id": self.session_id, "created": self.session_created,
                        "status": self.session_status},
            "events": [{"id": e.id, "type": e.type, "saved": e.persistent}
                       for e in self.events],
            "accepted": sum(1 for e in self.events if e.source_id == self.source_id),
            "refused": self.refused,
        }


def status_after(status: str | None, events: list[Event]) -> str | None:
    """A session's metadata.status once these events are applied in order (None: no change)."""
    for e in events:
        if not model.is_activity(e.source_id):
            continue
        status = {model.VISIT_ENDED: model.ENDED,
                  model.VISIT_STARTED: model.STARTED}.get(e.type, model.ACTIVE)
    return status


SYSTEM = ((model.PROFILE_CREATED, 3), (model.SESSION_OPENED, 2), (model.VISIT_STARTED, 1))


def system_events(ids: list[str], *, profile_created: bool, session_created: bool,
                  reopened: bool, payload_types: list[str], now: datetime, session_id: str,
                  profile_id: str) -> list[Event]:
    """The visit lifecycle's events the collect statement added, in time order."""
    wanted = (profile_created, session_created, reopened)
    return [Event(id=eid, type=kind, insert_time=now - timedelta(seconds=back),
                  source_id=model.INTERNAL_SOURCE_ID, session_id=session_id,
                  profile_id=profile_id,
                  properties={"trigger-event-types": payload_types}
                  if kind == model.VISIT_STARTED else {})
            for eid, (kind, back), want in zip(ids, SYSTEM, wanted, strict=True) if want]


def tracked_events(payload: TrackerPayload, good: list[tuple[int, TrackEvent]], now: datetime,
                   session_id: str, profile_id: str) -> list[Event]:
    """The payload's accepted events as stored events, all at the time of collection."""
    out = []
    for _, ev in good:
        extra = ev.model_extra or {}
        out.append(Event(
            id=str(uuid.uuid4()), type=ev.type, insert_time=now, source_id=payload.source.id,
            session_id=session_id, profile_id=profile_id, properties=ev.properties,
            options=ev.options, context={**payload.context, **ev.context},
            extra={k: v for k, v in extra.items() if k not in ("id", "metadata", "source")}))
    return out


async def collect(store: CdpStore, payload: TrackerPayload, good: list[tuple[int, TrackEvent]],
                  refused: list[dict[str, Any]], *, now: datetime | None = None,
                  system: bool = True) -> Collected:
    """Store a payload's accepted events with their session, profile and system events."""
    now = now or datetime.now(UTC)
    session_id = (payload.session.id if payload.session else None) or str(uuid.uuid4())
    profile_id = (payload.profile.id if payload.profile else None) or str(uuid.uuid4())
    tracked = tracked_events(payload, good, now, session_id, profile_id)
    await store.ensure_partitions([now - timedelta(seconds=3), now])
    stamp = model.iso(now)
    types = [e.type for e in tracked]
    add_system = system and model.VISIT_ENDED not in types
    ids = [str(uuid.uuid4()) for _ in SYSTEM]
    async with store.pool.acquire() as conn:
        row = await conn.fetchrow(
            q("cdp_collect"), session_id, profile_id,
            model.dumps(model.session_document(session_id, profile_id, now,
                                               context=payload.context)),
            now, model.dumps(model.profile_document(profile_id, now)), stamp,
            *event_rows(tracked), add_system, ids,
            model.dumps({"trigger-event-types": types}), status_after(None, tracked),
            model.INTERNAL_SOURCE_ID)
    assert row is not None
    session_created, profile_created = bool(row["session_created"]), bool(row["profile_created"])
    added = system_events(ids, profile_created=profile_created, session_created=session_created,
                          reopened=bool(row["reopened"]), payload_types=types, now=now,
                          session_id=session_id, profile_id=profile_id) if add_system else []
    events, status = added + tracked, str(row["status"])
    collected = Collected(profile_id, session_id, payload.source.id, events, refused,
                          profile_created, session_created, status)
    collected.hook_failures = await run_post_event_hooks(collected)
    return collected
