"""The schedules pages: cron, zone, next fires, last runs, actions and occurrence history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from supervisor.schedule.cron import CronError, TimeZoneError, explain
from supervisor.schedule.rules import compile_cron
from supervisor.schedule.service import ScheduleError, ScheduleNotFound, ScheduleService
from supervisor.ui.errors import UiError
from supervisor.ui.forms import Change, change
from supervisor.ui.pages import Page
from supervisor.ui.render import as_datetime, render
from supervisor.ui.session import Session, viewer

router = APIRouter(include_in_schema=False)
LIST_RUNS = 5
HISTORY = 50


def _service(request: Request) -> ScheduleService:
    service: ScheduleService = request.app.state.ctx.schedules
    return service


def next_fires(schedule: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """The next fires of an active schedule (UTC and local), or [] when paused or broken."""
    if not schedule["active"]:
        return []
    try:
        cron = compile_cron(schedule["cron"], schedule["timezone"])
    except (CronError, TimeZoneError):
        return []
    return [{"utc": f.utc, "local": f.local, "note": f.note}
            for f in explain(cron, datetime.now(UTC), count)]


async def _one(request: Request, name: str) -> dict[str, Any]:
    try:
        return await _service(request).get(name)
    except ScheduleNotFound:
        raise UiError(404, "No such schedule", f"There is no schedule named {name!r:.100}.",
                      hint="supervisor schedule list",
                      back=("/ui/schedules", "Back to the schedules")) from None


@router.get("/schedules")
async def schedules_page(request: Request, _: Session = Depends(viewer)) -> HTMLResponse:
    """Every schedule with its next fires and last runs."""
    service = _service(request)
    rows = await service.list()
    for row in rows:
        row["fires"] = next_fires(row, 2)
        row["runs"] = await service.history(row["name"], LIST_RUNS)
    return render(request, "schedules.html", schedules=rows, notice=_notice(request))


def occurrences(runs: list[dict[str, Any]],
                events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fired runs and the scheduler's other decisions, newest first."""
    merged = [{"kind": "fired", "at": as_datetime(r["scheduled_for"]), "run": r,
               "event": None} for r in runs]
    merged += [{"kind": e["kind"], "at": as_datetime(e["scheduled_for"] or e["created_at"]),
                "run": None, "event": e} for e in events]
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted(merged, key=lambda o: o["at"] or epoch, reverse=True)


@router.get("/schedules/{name}")
async def schedule_page(name: str, request: Request,
                        _: Session = Depends(viewer)) -> HTMLResponse:
    """One schedule: definition, next fires, and its occurrence history."""
    schedule = await _one(request, name)
    service = _service(request)
    runs = await service.history(name, HISTORY)
    events = await service.events(name, HISTORY)
    return render(request, "schedule.html", s=schedule, fires=next_fires(schedule, 5),
                  history=occurrences(runs, events), notice=_notice(request))


@router.post("/schedules/{name}/{action}")
async def schedule_action(name: str, action: str, request: Request,
                          ch: Change = Depends(change)) -> RedirectResponse:
    """Pause, resume or trigger a schedule, then back where the form was."""
    service = _service(request)
    calls = {"pause": service.pause, "resume": service.resume, "trigger": service.trigger}
    if action not in calls:
        raise UiError(404, "No such action", "Schedules can be paused, resumed or triggered.")
    await _one(request, name)
    try:
        await calls[action](name)
    except ScheduleError as exc:
        raise UiError(409, "Schedule unchanged", str(exc)) from None
    back = "/ui/schedules" if ch.first("back") == "list" else f"/ui/schedules/{quote(name)}"
    return RedirectResponse(f"{back}?done={action}", status_code=303)


def _notice(request: Request) -> str | None:
    texts = {"pause": "Schedule paused: it fires no more until resumed.",
             "resume": "Schedule resumed: it fires from its next occurrence.",
             "trigger": "Schedule triggered: one run was created now."}
    return texts.get(request.query_params.get("done", ""))


page = Page("Schedules", "/schedules", router, order=30)
