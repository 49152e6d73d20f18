"""POST /track: the collector's HTTP face."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from services.cdp.collector import Collected, collect
from services.cdp.elastic import ElasticUnavailable, document_operations, event_operations
from services.cdp.resources import CdpResources
from services.cdp.store import q
from services.cdp.tracker import PayloadError, parse_events, parse_payload
from supervisor.api.auth import HEADER, ApiContext
from supervisor.api.errors import ApiError, error_body

log = logging.getLogger("services.cdp.routes")
router = APIRouter(tags=["cdp"])


async def _authorize(request: Request, ctx: ApiContext, res: CdpResources,
                     source_id: str) -> None:
    key = request.headers.get(HEADER)
    if key:
        if not await ctx.keys.check(key):
            raise ApiError(401, "ERR_UNAUTHORIZED: the X-API-Key is not a live API key; check "
                           "it, or make one with `supervisor apikey create NAME`", HEADER)
        return
    if not await res.store.source_exists(source_id):
        raise ApiError(401, f"ERR_UNAUTHORIZED: source.id {source_id!r} is not a registered "
                       f"source; register it with `supervisor cdp source add {source_id}`, or "
                       "send an X-API-Key", "source.id")


async def _body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"ERR_INVALID_JSON: the body is not JSON ({exc}); send the "
                       "tracker payload as a JSON object", "body") from None


async def mirror(res: CdpResources, collected: Collected) -> None:
    """Write the payload's events, session and profile to Elasticsearch too."""
    if res.elastic is None:
        return
    async with res.store.pool.acquire() as conn:
        row = await conn.fetchrow(q("cdp_session_and_profile"), collected.session_id,
                                  collected.profile_id)
    ops = event_operations(res.elastic.indices, collected.events)
    if row is not None:
        ops += document_operations(res.elastic.indices.session, [row["session"]])
        if row["profile"] is not None:
            ops += document_operations(res.elastic.indices.profile, [row["profile"]])
    await res.elastic.bulk(ops)


@router.post("/track", summary="Collect a tracker payload (events of one session)")
async def track(request: Request) -> JSONResponse:
    """Store the payload's events; the answer lists them and any event refused, with why."""
    ctx: ApiContext = request.app.state.ctx
    res: CdpResources = ctx.runtime.family("cdp").resources
    body = await _body(request)
    try:
        payload = parse_payload(body)
    except PayloadError as exc:
        raise ApiError(422, f"ERR_INVALID_PAYLOAD: {exc.field}: {exc.message}", exc.field) \
            from None
    await _authorize(request, ctx, res, payload.source.id)
    good, refused = parse_events(payload.events)
    if not good:
        first = refused[0]
        answer = error_body(f"ERR_INVALID_EVENTS: no event was accepted; {first['field']}: "
                            f"{first['error']}", first["field"])
        return JSONResponse({**answer, "refused": refused}, status_code=422)
    collected = await collect(res.store, payload, good, refused,
                              system=res.settings.system_events)
    answer = collected.answer()
    try:
        await mirror(res, collected)
    except ElasticUnavailable as exc:
        log.warning("elasticsearch mirror failed", extra={"action": "cdp_mirror_failed",
                                                          "error": str(exc)})
        answer["elastic"] = str(exc)
    return JSONResponse(answer)
