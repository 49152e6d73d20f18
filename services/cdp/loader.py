"""History load: event documents (one per NDJSON line) stored with their own times."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.cdp import model
from services.cdp.collector import status_after
from services.cdp.elastic import Elastic, document_operations, event_operations
from services.cdp.model import Event
from services.cdp.store import CdpStore, q
from services.cdp.tracker import describe

BATCH = 2000


class _Ref(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str = Field(min_length=1)


class _Time(BaseModel):
    model_config = ConfigDict(extra="allow")
    insert: datetime


class _Meta(BaseModel):
    model_config = ConfigDict(extra="allow")
    time: _Time
    status: str = "collected"


class EventDoc(BaseModel):
    """An event document of the data model, as a history line carries it."""

    model_config = ConfigDict(extra="allow")
    id: str = Field(min_length=1)
    type: str = Field(min_length=1)
    metadata: _Meta
    source: _Ref
    session: _Ref
    profile: _Ref | None = None
    properties: dict[str, Any] = Field(default_factory=dict)


@dataclass
class LoadReport:
    """Counts of one load, and the lines it refused (line number, field, problem)."""

    lines: int = 0
    stored: int = 0
    duplicates: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)


def to_event(doc: EventDoc) -> Event:
    """The stored form of a history document (its time kept, naive times taken as UTC)."""
    at = doc.metadata.time.insert
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    extra = {k: v for k, v in (doc.model_extra or {}).items()}
    extra["metadata"] = doc.metadata.model_dump(mode="json", exclude={"status"})
    extra["session"] = doc.session.model_dump(mode="json")
    return Event(id=doc.id, type=model.normalise_type(doc.type), insert_time=at,
                 source_id=doc.source.id, session_id=doc.session.id,
                 profile_id=doc.profile.id if doc.profile else None,
                 properties=doc.properties, status=doc.metadata.status,
                 options=extra.pop("config", {}) or {}, context=extra.pop("context", {}) or {},
                 extra=extra)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def fast_event(line: str) -> Event | None:
    """A plain history line as an Event, its text kept as the document; None if unusual."""
    d = json.loads(line)
    try:
        meta, session, source = d["metadata"], d["session"], d["source"]
        eid, typ, at_text = _text(d["id"]), _text(d["type"]), _text(meta["time"]["insert"])
        sid, src = _text(session["id"]), _text(source["id"])
        profile = d.get("profile")
        pid = None if profile is None else _text(profile["id"])
        props, config = d.get("properties", {}), d.get("config") or {}
        status = meta.get("status", "collected")
    except (KeyError, TypeError):
        return None
    if None in (eid, typ, at_text, sid, src) or (profile is not None and pid is None) or \
            not isinstance(props, dict) or not isinstance(config, dict) or \
            not isinstance(status, str):
        return None
    try:
        at = datetime.fromisoformat(str(at_text))
    except ValueError:
        return None
    norm = model.normalise_type(str(typ))
    if norm != typ:
        d["type"] = norm
    return Event(id=str(eid), type=norm, insert_time=at if at.tzinfo else at.replace(tzinfo=UTC),
                 source_id=src, session_id=sid, profile_id=pid, properties=props,
                 options=config, status=status,
                 raw=line.strip() if norm == typ else model.dumps(d))


def parse_lines(lines: Iterable[str], report: LoadReport) -> Iterator[Event]:
    """Events of good lines; bad ones go to the report with their line number and field."""
    for number, line in enumerate(lines, 1):
        report.lines = number
        if not line.strip():
            continue
        try:
            event = fast_event(line)
            # Unusual lines take the validating path, which also names what is wrong.
            yield event if event is not None else to_event(
                EventDoc.model_validate(json.loads(line)))
        except json.JSONDecodeError as exc:
            report.refused.append({"line": number, "field": "", "error": f"not JSON: {exc}"})
        except ValidationError as exc:
            where, message = describe(exc)
            report.refused.append({"line": number, "field": where, "error": message})


def _subjects(events: list[Event]) -> tuple[list[list[Any]], list[list[Any]]]:
    sessions: dict[str, list[Event]] = {}
    profiles: dict[str, list[datetime]] = {}
    for e in events:
        if e.session_id:
            sessions.setdefault(e.session_id, []).append(e)
        if e.profile_id:
            profiles.setdefault(e.profile_id, []).append(e.insert_time)
    s_cols: list[list[Any]] = [[], [], [], [], [], []]
    for sid, evs in sessions.items():
        evs.sort(key=lambda e: e.insert_time)
        first, last, pid = evs[0].insert_time, evs[-1].insert_time, evs[-1].profile_id
        status = status_after(model.ACTIVE, evs) or model.ACTIVE
        doc = model.session_document(sid, pid, first, status)
        doc["metadata"]["time"]["update"] = model.iso(last)
        row: tuple[Any, ...] = (sid, pid, doc, status, first, last)
        for col, v in zip(s_cols, row, strict=True):
            col.append(v)
    p_cols: list[list[Any]] = [[], [], [], []]
    for pid, times in profiles.items():
        first, last = min(times), max(times)
        doc = model.profile_document(pid, first)
        doc["metadata"]["time"]["update"] = model.iso(last)
        prow: tuple[Any, ...] = (pid, doc, first, last)
        for col, v in zip(p_cols, prow, strict=True):
            col.append(v)
    return s_cols, p_cols


async def store_batch(store: CdpStore, events: list[Event]) -> int:
    """Store one batch with the sessions and profiles it names; returns the new events."""
    await store.ensure_partitions(e.insert_time for e in events)
    s_cols, p_cols = _subjects(events)
    async with store.pool.acquire() as conn, conn.transaction():
        stored = await store.insert_events(conn, events)
        await conn.execute(q("cdp_load_sessions"), *s_cols)
        await conn.execute(q("cdp_load_profiles"), *p_cols)
    return stored


async def mirror_batch(elastic: Elastic, events: list[Event]) -> None:
    """Write a stored batch to Elasticsearch too: events indexed under their ids, sessions and
    profiles created only where the index has none."""
    s_cols, p_cols = _subjects(events)
    await elastic.bulk(
        event_operations(elastic.indices, events)
        + document_operations(elastic.indices.session, s_cols[2], "create")
        + document_operations(elastic.indices.profile, p_cols[1], "create"))


async def load(store: CdpStore, source: Iterable[str], report: LoadReport, *,
               batch: int = BATCH, progress: Any = None,
               elastic: Elastic | None = None) -> LoadReport:
    """Load every line of an NDJSON stream, `batch` events per transaction.

    The next batch is parsed while the previous one is being written.
    """
    pending: list[Event] = []
    writing: asyncio.Task[None] | None = None
    for event in parse_lines(source, report):
        pending.append(event)
        if len(pending) % 256 == 0:
            await asyncio.sleep(0)  # let the write in flight go on while this parses
        if len(pending) >= batch:
            if writing is not None:
                await writing
            writing = asyncio.create_task(_flush(store, pending, report, progress, elastic))
            pending = []
    if writing is not None:
        await writing
    if pending:
        await _flush(store, pending, report, progress, elastic)
    return report


async def _flush(store: CdpStore, pending: list[Event], report: LoadReport,
                 progress: Any, elastic: Elastic | None = None) -> None:
    stored = await store_batch(store, pending)
    report.stored += stored
    report.duplicates += len(pending) - stored
    if elastic is not None:
        await mirror_batch(elastic, pending)
    if progress is not None:
        progress(len(pending))
