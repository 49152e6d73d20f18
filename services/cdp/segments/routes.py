"""HTTP: segments, trigger rules and mappings management; POST /events/schedule."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Request

from services.cdp import delayed
from services.cdp.mapping_store import MappingStore
from services.cdp.segments import service
from services.cdp.segments.model import FieldError, segment_out
from services.cdp.segments.resources import SegmentsResources, SegmentsSettings
from services.cdp.segments.store import SegmentStore
from services.cdp.segments.triggers import trigger_out
from services.cdp.store import CdpStore
from supervisor.api.auth import ApiContext, authorized
from supervisor.api.errors import ApiError
from supervisor.api.openapi import ERRORS
from supervisor.store.jobs import job_dict

router = APIRouter(tags=["segments"])
# The routes parse their bodies themselves (each refusal names the field); any JSON object.
BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object"}}}}}
T = TypeVar("T")
FAMILY = "segments"


def _res(ctx: ApiContext) -> SegmentsResources:
    lf = ctx.runtime.family(FAMILY)
    if lf.resources is None:  # an app served without the families' resources: the API's pool
        settings = lf.settings if isinstance(lf.settings, SegmentsSettings) else \
            SegmentsSettings.model_validate({})
        lf.resources = SegmentsResources(ctx.runtime.pool, settings, CdpStore(ctx.runtime.pool))
    res: SegmentsResources = lf.resources
    return res


async def _checked(code: str, work: Awaitable[T]) -> T:
    try:
        return await work
    except FieldError as exc:
        raise ApiError(400, f"ERR_INVALID_{code}: {exc.field}: {exc.message}", exc.field) \
            from None


async def _body(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise ApiError(400, "ERR_INVALID_JSON: the body is not JSON; send a JSON object",
                       "body") from None


def _missing(kind: str, key: str) -> ApiError:
    return ApiError(404, f"ERR_{kind.upper()}_NOT_FOUND: no {kind} {key!r}; see GET "
                    f"/{kind}s for the ids", "id")


@router.get("/segments", summary="List segments",
             responses=ERRORS)
async def list_segments(ctx: ApiContext = Depends(authorized)) -> dict[str, Any]:
    """Every segment."""
    rows = await SegmentStore(_res(ctx).pool).all()
    return {"segments": [segment_out(r) for r in rows]}


@router.post("/segments", summary="Create or replace a segment",
             responses=ERRORS, openapi_extra=BODY)
async def put_segment(request: Request, ctx: ApiContext = Depends(authorized)
                      ) -> dict[str, Any]:
    """A segment `{name, description, eventType, condition, enabled}`; id from the name."""
    body = await _body(request)
    row = await _checked("SEGMENT", service.save_segment(
        _res(ctx).pool, body, ctx.runtime.registry.names()))
    return segment_out(row)


@router.post("/segments/test", summary="Count the profiles a condition matches",
             responses=ERRORS, openapi_extra=BODY)
async def test_segment(request: Request, ctx: ApiContext = Depends(authorized)
                       ) -> dict[str, Any]:
    """`{condition, limit?}`: how many profiles match and the first ids; changes nothing."""
    body = await _body(request)
    if not isinstance(body, dict) or not isinstance(body.get("condition"), str):
        raise ApiError(400, "ERR_INVALID_CONDITION: condition: send {\"condition\": \"...\"}",
                       "condition")
    limit = body.get("limit", 20)
    if not isinstance(limit, int) or not 0 <= limit <= 1000:
        raise ApiError(400, "ERR_INVALID_CONDITION: limit: a whole number 0 to 1000", "limit")
    return await _checked("CONDITION", service.test_condition(
        _res(ctx).pool, body["condition"], limit))


@router.get("/segments/{sid}", summary="One segment",
             responses=ERRORS)
async def get_segment(sid: str, ctx: ApiContext = Depends(authorized)) -> dict[str, Any]:
    """A segment by id."""
    row = await SegmentStore(_res(ctx).pool).get(sid)
    if row is None:
        raise _missing("segment", sid)
    return segment_out(row)


@router.post("/segments/{sid}/{state}", summary="Enable or disable a segment",
             responses=ERRORS)
async def toggle_segment(sid: str, state: str, ctx: ApiContext = Depends(authorized)
                         ) -> dict[str, Any]:
    """`state` is `enable` or `disable`."""
    if state not in ("enable", "disable"):
        raise ApiError(404, "ERR_NOT_FOUND: use /segments/{id}/enable or /disable", "state")
    row = await SegmentStore(_res(ctx).pool).set_enabled(sid, state == "enable")
    if row is None:
        raise _missing("segment", sid)
    return segment_out(row)


@router.delete("/segments/{sid}", summary="Delete a segment",
             responses=ERRORS)
async def delete_segment(sid: str, ctx: ApiContext = Depends(authorized)) -> dict[str, Any]:
    """Remove a segment (profiles keep its id)."""
    if not await SegmentStore(_res(ctx).pool).remove(sid):
        raise _missing("segment", sid)
    return {"id": sid, "deleted": True}


@router.get("/triggers", summary="List trigger rules",
             responses=ERRORS)
async def list_triggers(ctx: ApiContext = Depends(authorized)) -> dict[str, Any]:
    """Every trigger rule."""
    return {"triggers": [trigger_out(r) for r in await SegmentStore(_res(ctx).pool).triggers()]}


@router.post("/triggers", summary="Create or replace a trigger rule",
             responses=ERRORS, openapi_extra=BODY)
async def put_trigger(request: Request, ctx: ApiContext = Depends(authorized)
                      ) -> dict[str, Any]:
    """`{name, type: segment-add, segment: {id}, action: {type: job|event|webhook, ...}}`."""
    body = await _body(request)
    row = await _checked("TRIGGER", service.save_trigger(
        _res(ctx).pool, body, ctx.runtime.registry.names()))
    return trigger_out(row)


@router.delete("/triggers/{rid}", summary="Delete a trigger rule",
             responses=ERRORS)
async def delete_trigger(rid: str, ctx: ApiContext = Depends(authorized)) -> dict[str, Any]:
    """Remove a rule."""
    if not await SegmentStore(_res(ctx).pool).remove_trigger(rid):
        raise _missing("trigger", rid)
    return {"id": rid, "deleted": True}


@router.get("/mappings", summary="List event-to-profile mappings",
             responses=ERRORS)
async def list_mappings(ctx: ApiContext = Depends(authorized)) -> dict[str, Any]:
    """Every mapping record."""
    return {"mappings": await MappingStore(_res(ctx).pool).records()}


@router.post("/mappings", summary="Create or replace a mapping",
             responses=ERRORS, openapi_extra=BODY)
async def put_mapping(request: Request, ctx: ApiContext = Depends(authorized)
                      ) -> dict[str, Any]:
    """`{name, event_type, enabled, config: {condition?}, event_to_profile: [...]}`."""
    body = await _body(request)
    store = MappingStore(_res(ctx).pool)
    mid = await _checked("MAPPING", service.save_mapping(store.pool, body))
    return (await store.records(mid))[0]


@router.get("/mappings/{mid}", summary="One mapping",
             responses=ERRORS)
async def get_mapping(mid: str, ctx: ApiContext = Depends(authorized)) -> dict[str, Any]:
    """A mapping by id."""
    found = await MappingStore(_res(ctx).pool).records(mid)
    if not found:
        raise _missing("mapping", mid)
    return found[0]


@router.delete("/mappings/{mid}", summary="Delete a mapping",
             responses=ERRORS)
async def delete_mapping(mid: str, ctx: ApiContext = Depends(authorized)) -> dict[str, Any]:
    """Remove a mapping."""
    if not await MappingStore(_res(ctx).pool).remove(mid):
        raise _missing("mapping", mid)
    return {"id": mid, "deleted": True}


@router.post("/events/schedule", summary="Collect an event later (a delayed event)",
             responses=ERRORS, openapi_extra=BODY)
async def schedule_event(request: Request, ctx: ApiContext = Depends(authorized)
                         ) -> dict[str, Any]:
    """`{timestamp, event: {type, properties, source, session, profile}}`: a job due then."""
    body = await _body(request)
    task: delayed.DelayedEvent = await _checked("EVENT", _as_task(body))
    row = await ctx.runtime.jobs.create(delayed.JOB_TYPE, task.model_dump(mode="json"),
                                        retry_count=3, run_after=delayed.run_after(task))
    return {"id": str(row["uuid"]), "timestamp": task.timestamp, "due": task.due.isoformat(),
            "status": "pending", "job": job_dict(row)}


async def _as_task(body: Any) -> delayed.DelayedEvent:
    task: delayed.DelayedEvent = service.validated(delayed.DelayedEvent, body)
    return task
