"""The heartbeat on Elasticsearch: a composite aggregation per page of candidates.

Each page is one search whose buckets carry, per session (or profile), the times the mode needs
(last activity, last flag, last open/close); the same rules as the PostgreSQL statements pick
the qualifying ones, the marks in PostgreSQL make repeated runs emit nothing twice, and one bulk
request writes the page's events (ids derived from what they answer, written with `create`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from services.cdp.datemath import Range, parse_range
from services.cdp.elastic import Elastic, derived_id, event_operations, update_operations
from services.cdp.heartbeat.params import HeartbeatParams
from services.cdp.heartbeat.pg import SUBJECT, HeartbeatResult, PageHook, mark_kind
from services.cdp.model import HEARTBEAT_PREFIX, HEARTBEAT_SOURCE_ID, Event
from services.cdp.store import CdpStore, q

TIME = "metadata.time.insert"


def _last(filter_: dict[str, Any]) -> dict[str, Any]:
    return {"filter": filter_, "aggs": {"at": {"max": {"field": TIME}}}}


def bucket_aggs(params: HeartbeatParams) -> dict[str, Any]:
    """The per-subject aggregations a mode decides on."""
    aggs: dict[str, Any] = {
        "last_activity": _last({"bool": {"must_not": [
            {"prefix": {"source.id": HEARTBEAT_PREFIX}}]}}),
    }
    mode = params.mode
    if mode == "visit-end":
        aggs["last_open"] = _last({"term": {"type": params.open_event_type}})
        aggs["last_close"] = _last({"term": {"type": params.close_event_type}})
    elif mode != "profile-segmentation":
        aggs["last_flag"] = _last({"term": {"type": params.emits}})
    if SUBJECT.get(mode) == "sessions":
        aggs["profile"] = {"terms": {"field": "profile.id", "size": 1}}
    return aggs


def page_body(params: HeartbeatParams, rng: Range, after: dict[str, Any] | None) -> dict[str, Any]:
    """The search body of one page: events in RANGE grouped by subject in key order."""
    field = "session.id" if SUBJECT.get(params.mode) == "sessions" else "profile.id"
    composite: dict[str, Any] = {"size": params.page_size,
                                 "sources": [{"id": {"terms": {"field": field}}}]}
    if after is not None:
        composite["after"] = after
    return {
        "size": 0,
        "track_total_hits": False,
        "query": {"bool": {"filter": [{"range": {TIME: {
            "gte": iso_ms(rng.lo), "lte": iso_ms(rng.hi),
            "format": "strict_date_optional_time"}}}]}},
        "aggs": {"subjects": {"composite": composite, "aggs": bucket_aggs(params)}},
    }


def iso_ms(moment: datetime) -> str:
    """A time as Elasticsearch reads it, to the millisecond, in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{moment.microsecond // 1000:03d}Z"


def _at(bucket: dict[str, Any], name: str) -> datetime | None:
    value = (bucket.get(name) or {}).get("at", {}).get("value")
    return None if value is None else datetime.fromtimestamp(value / 1000, UTC)


def qualifies(params: HeartbeatParams, bucket: dict[str, Any], now: datetime) -> bool:
    """The mode's rule on one bucket, as the PostgreSQL statements apply it."""
    mode, last = params.mode, _at(bucket, "last_activity")
    if last is None:
        return False
    if mode == "has-event":
        beat = _at(bucket, "last_flag")
        return beat is None or beat <= now - params.skip
    if mode == "profile-segmentation":
        return last < now - params.quiet
    if last >= now - params.skip:
        return False
    if mode == "visit-end":
        opened, closed = _at(bucket, "last_open"), _at(bucket, "last_close")
        return opened is not None and (closed is None or closed < opened)
    flag = _at(bucket, "last_flag")
    return flag is None or flag < last


def _event(params: HeartbeatParams, kind: str, subject: str, stamp: datetime,
           bucket: dict[str, Any], now: datetime) -> Event:
    sessions = SUBJECT.get(params.mode) == "sessions"
    profile = None
    if sessions:
        profiles = (bucket.get("profile") or {}).get("buckets") or []
        profile = profiles[0]["key"] if profiles else None
    props: dict[str, Any] = {}
    if params.mode == "inactive-profile":
        props["reason"] = (f"no activity since {stamp:%Y-%m-%dT%H:%M:%SZ} "
                           f"(SKIP_SECONDS={params.skip_seconds})")
    return Event(id=derived_id(kind, subject, stamp), type=params.emits, insert_time=now,
                 source_id=HEARTBEAT_SOURCE_ID, session_id=subject if sessions else None,
                 profile_id=profile if sessions else subject, properties=props,
                 options={"saveEvent": False} if params.ephemeral else {})


async def _marked(store: CdpStore, params: HeartbeatParams, chosen: dict[str, datetime],
                  now: datetime) -> set[str]:
    kind = mark_kind(params)
    async with store.pool.acquire() as conn:
        if params.mode == "has-event":
            rows = await conn.fetch(q("cdp_hb_mark_due"), kind, list(chosen), now - params.skip,
                                    now)
        else:
            rows = await conn.fetch(q("cdp_hb_mark_newer"), kind, list(chosen),
                                    list(chosen.values()), now)
    return {r["subject_id"] for r in rows}


async def _emit(es: Elastic, store: CdpStore, params: HeartbeatParams, page: list[Any],
                now: datetime, result: HeartbeatResult) -> None:
    chosen = {b["key"]["id"]: _at(b, "last_activity") or now for b in page
              if qualifies(params, b, now)}
    if not chosen:
        return
    marked = await _marked(store, params, chosen, now)
    if params.mode == "profile-segmentation":
        async with store.pool.acquire() as conn:
            rows = await conn.fetch(q("cdp_queue_segmentation"), list(marked),
                                    [chosen[s] for s in marked], now,
                                    f"no activity within {params.no_events_within_last}")
        result.emitted += len(rows)
        return
    kind = mark_kind(params)
    beat = params.mode == "has-event"  # has-event's events answer the run, not an activity
    by_key = {b["key"]["id"]: b for b in page}
    events = [_event(params, kind, s, now if beat else chosen[s], by_key[s], now)
              for s in sorted(marked)]
    ops = event_operations(es.indices, events, create=True)
    if params.mode == "visit-end":
        ops += update_operations(es.indices.session, marked, {"metadata": {"status": "ended"}})
    elif params.mode == "inactive-profile":
        ops += update_operations(es.indices.profile, marked, {"active": False})
    written, _ = await es.bulk(ops)
    result.emitted += len(events)
    result.stored += min(written, sum(1 for e in events if e.persistent))


async def run_es(es: Elastic, store: CdpStore, params: HeartbeatParams, now: datetime, *,
                 on_page: PageHook | None = None,
                 should_stop: Callable[[], bool] | None = None) -> HeartbeatResult:
    """One pass of a mode over RANGE on Elasticsearch, against a frozen `now`."""
    rng = parse_range(params.range, now)
    result = HeartbeatResult(params.qualify_by, rng, now, extra={"store": "elasticsearch"})
    after: dict[str, Any] | None = None
    while True:
        body = await es.search(es.indices.event_read, page_body(params, rng, after))
        agg = body.get("aggregations", {}).get("subjects", {})
        page = agg.get("buckets", [])
        result.pages += 1
        result.examined += len(page)
        await _emit(es, store, params, page, now, result)
        after = agg.get("after_key")
        if len(page) < params.page_size or after is None:
            return result
        result.after = str(after.get("id", ""))
        if on_page is not None:
            await on_page(result.examined, result.after)
        if should_stop is not None and should_stop():
            result.extra["stopped_after"] = result.after
            return result
