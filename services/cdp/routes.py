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
from services.cdp.settings import CdpSettings
from services.cdp.store import CdpStore, q
from services.cdp.tracker import PayloadError, parse_events, parse_payload
from supervisor.api.auth import HEADER, ApiContext
from supervisor.api.errors import ApiError, error_body
from supervisor.api.models import Error
from supervisor.api.openapi import ERRORS

log = logging.getLogger("services.cdp.routes")
router = APIRouter(tags=["cdp"])

_REF = {"type": "object", "properties": {"id": {"type": "string", "minLength": 1}}}
BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["source", "events"],
    "properties": {
        "source": {**_REF, "required": ["id"]}, "session": _REF, "profile": _REF,
        "context": {"type": "object"}, "properties": {"type": "object"},
        "events": {"type": "array", "minItems": 1, "maxItems": 1000, "items": {
            "type": "object", "required": ["type"],
            "properties": {"type": {"type": "string", "minLength": 1},
                           "properties": {"type": "object"}, "options": {"type": "object"},
                           "context": {"type": "object"}}}}}}}}}}
RESPONSES: dict[int | str, dict[str, Any]] = {
    **{code: ERRORS[code] for code in (400, 401, 413, 415, 503)},
    422: {"model": Error, "description": "A tracker payload that cannot be used; the message "
          "names the field (events refused one by one are listed in a 200 answer)"},
}


def resources_of(request: Request, ctx: ApiContext) -> CdpResources:
    """The family's resources; an app whose runtime did not open them gets a PostgreSQL-only
    store on the runtime's pool (embedding the app, tests)."""
    loaded: CdpResources | None = ctx.runtime.family("cdp").resources
    if loaded is not None:
        return loaded
    fallback: CdpResources | None = getattr(request.app.state, "cdp_resources", None)
    if fallback is None:
        fallback = CdpResources(CdpStore(ctx.runtime.pool), CdpSettings.model_validate({}))
        request.app.state.cdp_resources = fallback
    return fallback


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


@router.post("/track", summary="Collect a tracker payload (events of one session)",
             responses=RESPONSES, openapi_extra=BODY)
async def track(request: Request) -> JSONResponse:
    """Store the payload's events; the answer lists them and any event refused, with why."""
    ctx: ApiContext = request.app.state.ctx
    res = resources_of(request, ctx)
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
