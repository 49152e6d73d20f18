"""The schedules API: the same ScheduleService (and so the same rules) as the CLI."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from supervisor.api.auth import ApiContext, authorized
from supervisor.api.body import parse_body
from supervisor.api.context import RuntimeLike
from supervisor.api.errors import ApiError, rule_code
from supervisor.api.openapi import ERRORS, body_of
from supervisor.schedule.service import (
    NAME_PATTERN,
    ScheduleError,
    ScheduleNotFound,
    SchedulePatch,
    ScheduleService,
    ScheduleSpec,
)

router = APIRouter(prefix="/common/schedules", tags=["schedules"], responses=ERRORS)
MODELS: list[type[BaseModel]] = [ScheduleSpec, SchedulePatch]
Name = Annotated[str, Path(min_length=1, max_length=100, pattern=NAME_PATTERN,
                           description="The schedule's name")]


def service_for(runtime: RuntimeLike) -> ScheduleService:
    """The schedule service on the runtime's pool (its writes NOTIFY every scheduler)."""
    return ScheduleService(runtime.pool, runtime.registry)


async def _call(coro: Any) -> Any:
    """Await a service call, turning its refusals into API errors."""
    try:
        return await coro
    except ScheduleNotFound as exc:
        raise ApiError(404, f"ERR_SCHEDULE_NOT_FOUND: {exc}; list schedules with "
                       "GET /common/schedules", "name") from None
    except ScheduleError as exc:
        field = exc.field or "body"
        raise ApiError(400, f"{rule_code(field)}: {exc}", field) from None


def _ok(data: Any, status: int = 200, message: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"data": data, "success": True}
    if message:
        body["message"] = message
    return JSONResponse(body, status_code=status)


@router.post("/create", status_code=201, openapi_extra=body_of(ScheduleSpec),
             summary="Create a schedule")
async def create_schedule(request: Request,
                          ctx: ApiContext = Depends(authorized)) -> JSONResponse:
    """Add a cron schedule; it first fires at the next occurrence after now."""
    spec = await parse_body(request, ScheduleSpec, {})
    return _ok(await _call(ctx.schedules.create(spec, source="api")), 201, "Schedule created")


@router.get("", summary="List schedules")
async def list_schedules(
    active: bool | None = Query(None, description="true: only active; false: only paused"),
    ctx: ApiContext = Depends(authorized),
) -> JSONResponse:
    """Every schedule by name."""
    return _ok(await _call(ctx.schedules.list(active=active)))


@router.get("/{name}", summary="Show a schedule")
async def show_schedule(name: Name, ctx: ApiContext = Depends(authorized)) -> JSONResponse:
    """One schedule with its next fire and counters."""
    return _ok(await _call(ctx.schedules.get(name)))


@router.patch("/{name}", openapi_extra=body_of(SchedulePatch), summary="Edit a schedule")
async def edit_schedule(name: Name, request: Request,
                        ctx: ApiContext = Depends(authorized)) -> JSONResponse:
    """Change the fields given; a new cron or time zone recomputes the next fire."""
    patch = await parse_body(request, SchedulePatch, {})
    return _ok(await _call(ctx.schedules.update(name, patch)), message="Schedule updated")


@router.post("/{name}/pause", summary="Pause a schedule")
async def pause_schedule(name: Name, ctx: ApiContext = Depends(authorized)) -> JSONResponse:
    """Stop firing until resumed."""
    return _ok(await _call(ctx.schedules.pause(name)), message="Schedule paused")


@router.post("/{name}/resume", summary="Resume a schedule")
async def resume_schedule(name: Name, ctx: ApiContext = Depends(authorized)) -> JSONResponse:
    """Fire again from the next occurrence after now."""
    return _ok(await _call(ctx.schedules.resume(name)), message="Schedule resumed")


@router.delete("/{name}", summary="Delete a schedule")
async def delete_schedule(name: Name, ctx: ApiContext = Depends(authorized)) -> JSONResponse:
    """Remove a schedule; the jobs it created stay."""
    await _call(ctx.schedules.delete(name))
    return JSONResponse({"message": "Schedule deleted", "success": True})


@router.post("/{name}/trigger", status_code=201, summary="Run a schedule now")
async def trigger_schedule(name: Name, ctx: ApiContext = Depends(authorized)) -> JSONResponse:
    """Create one run now, whatever the overlap setting; answers the new job."""
    return _ok(await _call(ctx.schedules.trigger(name)), 201, "Job created successfully")


@router.get("/{name}/history", summary="A schedule's runs")
async def schedule_history(
    name: Name, limit: int = Query(20, ge=1, le=100, description="Runs to show, 1 to 100"),
    ctx: ApiContext = Depends(authorized),
) -> JSONResponse:
    """The schedule's jobs, newest first, with status, lateness, timings and last error."""
    return _ok(await _call(ctx.schedules.history(name, limit)))


@router.get("/{name}/events", summary="What the scheduler did besides firing")
async def schedule_events(
    name: Name, limit: int = Query(20, ge=1, le=100, description="Events to show, 1 to 100"),
    ctx: ApiContext = Depends(authorized),
) -> JSONResponse:
    """Overlap skips, coalesced and missed occurrences, errors and manual triggers."""
    return _ok(await _call(ctx.schedules.events(name, limit)))


@router.get("/{name}/explain", summary="The next fire times")
async def explain_schedule(
    name: Name, count: int = Query(10, ge=1, le=1000, description="How many fires, 1 to 1000"),
    ctx: ApiContext = Depends(authorized),
) -> JSONResponse:
    """The next fires in UTC and local time, noting DST gaps and repeats."""
    return _ok(await _call(ctx.schedules.explain(name, count)))
