"""`supervisor schedule add|edit|list|show|pause|resume|remove|trigger|history|explain`."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, NoReturn, TypeVar
from zoneinfo import ZoneInfo

import typer
from pydantic import ValidationError

from supervisor.cli.common import (
    FullHelpGroup,
    fail,
    families,
    open_pool,
    print_json,
    run_async,
    settings,
)
from supervisor.schedule.rules import MISFIRE_LIMIT_MAX
from supervisor.schedule.service import (
    ScheduleError,
    ScheduleNotFound,
    SchedulePatch,
    ScheduleService,
    ScheduleSpec,
    spec_from_mapping,
)

app = typer.Typer(cls=FullHelpGroup, help="Cron schedules: each occurrence creates one job run.",
                  no_args_is_help=True)
T = TypeVar("T")
# Field names in messages become the option a person typed.
OPTIONS = {"cron": "--cron", "timezone": "--tz", "job_type": "--type", "data": "--data",
           "retry_count": "--retry-count", "retry_interval": "--retry-interval",
           "misfire_policy": "--misfire", "misfire_limit": "--misfire-limit", "count": "--count"}
NAME_HELP = "The schedule's name"
MISFIRE_HELP = ("after downtime: coalesce (one catch-up run), fire_all (each missed one, up to "
                "--misfire-limit) or skip (none)")


def _refuse(exc: ScheduleError) -> NoReturn:
    field = (exc.field or "").split(".")[0]
    option = OPTIONS.get(field)
    fail(f"{option}: {exc}" if option else str(exc), 2)


def _call(fn: Callable[[ScheduleService], Awaitable[T]]) -> T:
    """Run `fn` with a schedule service; bad input exits 2, an unknown name exits 1."""
    config = settings()
    found = families(config)

    async def go() -> T:
        async with open_pool(config, found=found) as pool:
            return await fn(ScheduleService(pool, found.registry))

    try:
        return run_async(go)
    except ScheduleError as exc:
        _refuse(exc)
    except ScheduleNotFound as exc:
        fail(str(exc.args[0]), 1)


def _json_object(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"--data is not valid JSON: {exc}", 2)
    if not isinstance(value, dict):
        fail("--data must be a JSON object, e.g. '{\"seconds\": 2}'", 2)
    return value


def _when(value: str | None, tz: str = "UTC") -> str:
    """An ISO time as 'YYYY-MM-DD HH:MM:SS ZONE' in the schedule's zone."""
    if not value:
        return "-"
    local = datetime.fromisoformat(value).astimezone(ZoneInfo(tz))
    return local.strftime("%Y-%m-%d %H:%M:%S %Z")


@app.command("add")
def add(
    name: str = typer.Argument(..., help="Unique name, e.g. session-inactive"),
    cron: str = typer.Option(..., "--cron", help="5 fields: minute hour day month weekday"),
    tz: str = typer.Option("UTC", "--tz", help="IANA time zone the cron is read in"),
    job_type: str = typer.Option(..., "--type", help="Job type of each run, e.g. noop"),
    data: str = typer.Option("{}", "--data", help="Job data of each run, as JSON"),
    retry_count: int = typer.Option(0, "--retry-count", help="Retries each run may have"),
    retry_interval: int = typer.Option(30, "--retry-interval", help="Seconds between tries"),
    misfire: str = typer.Option("coalesce", "--misfire", help=MISFIRE_HELP),
    misfire_limit: int = typer.Option(100, "--misfire-limit",
                                      help=f"Most runs fire_all makes, 1 to {MISFIRE_LIMIT_MAX}"),
    overlap: bool = typer.Option(False, "--overlap/--no-overlap",
                                 help="Fire even while the previous run has not finished"),
    paused: bool = typer.Option(False, "--paused", help="Create it paused"),
) -> None:
    """Create a schedule and print its next fire time."""
    table = {"cron": cron, "timezone": tz, "job_type": job_type, "data": _json_object(data),
             "retry_count": retry_count, "retry_interval": retry_interval,
             "misfire_policy": misfire, "misfire_limit": misfire_limit, "overlap": overlap,
             "active": not paused}
    try:
        spec = spec_from_mapping(name, table)
    except ScheduleError as exc:
        _refuse(exc)
    row = _call(lambda svc: svc.create(spec, source="cli"))
    state = "paused" if paused else f"next run {_when(row['next_run_at'], tz)}"
    typer.echo(f"created schedule {name}: {state}")


@app.command("edit")
def edit(
    name: str = typer.Argument(..., help=NAME_HELP),
    cron: str = typer.Option(None, "--cron", help="New cron: minute hour day month weekday"),
    tz: str = typer.Option(None, "--tz", help="New IANA time zone the cron is read in"),
    job_type: str = typer.Option(None, "--type", help="New job type of each run"),
    data: str = typer.Option(None, "--data", help="New job data of each run, as JSON "
                             "(replaces the old data whole)"),
    retry_count: int = typer.Option(None, "--retry-count", help="Retries each run may have"),
    retry_interval: int = typer.Option(None, "--retry-interval",
                                       help="Seconds between tries"),
    misfire: str = typer.Option(None, "--misfire", help=MISFIRE_HELP),
    misfire_limit: int = typer.Option(None, "--misfire-limit",
                                      help=f"Most runs fire_all makes, 1 to {MISFIRE_LIMIT_MAX}"),
    overlap: bool = typer.Option(None, "--overlap/--no-overlap",
                                 help="Fire even while the previous run has not finished"),
) -> None:
    """Change some fields of a schedule; the others stay."""
    changes = {"cron": cron, "timezone": tz, "job_type": job_type, "data": _json_object(data),
               "retry_count": retry_count, "retry_interval": retry_interval,
               "misfire_policy": misfire, "misfire_limit": misfire_limit, "overlap": overlap}
    try:
        patch = SchedulePatch.model_validate({k: v for k, v in changes.items() if v is not None})
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else None
        _refuse(ScheduleError(f"{field}: {err['msg']}", field=field))
    row = _call(lambda svc: svc.update(name, patch))
    typer.echo(f"updated schedule {name}: next run {_when(row['next_run_at'], row['timezone'])}")


@app.command("list")
def list_schedules(
    active: bool = typer.Option(None, "--active/--paused", help="Only active or only paused"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """List schedules by name."""
    rows = _call(lambda svc: svc.list(active=active))
    if as_json:
        print_json(rows)
        return
    typer.echo(f"{'NAME':<24} {'CRON':<16} {'TZ':<16} {'TYPE':<12} {'STATE':<7} NEXT RUN")
    for r in rows:
        state = ("broken" if r["last_error"] else "active") if r["active"] else "paused"
        typer.echo(f"{r['name']:<24} {r['cron']:<16} {r['timezone']:<16} {r['job_type']:<12} "
                   f"{state:<7} {_when(r['next_run_at'], r['timezone'])}")
    typer.echo(f"({len(rows)} schedule(s))", err=True)


@app.command("show")
def show(
    name: str = typer.Argument(..., help=NAME_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """Show a schedule, its counters and its latest skips, misses and errors."""
    async def go(svc: ScheduleService) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        return await svc.get(name), await svc.events(name, 10)

    row, events = _call(go)
    if as_json:
        print_json({**row, "events": events})
        return
    for key, value in row.items():
        shown = json.dumps(value) if isinstance(value, dict) else value
        if key in ("next_run_at", "last_run_at", "created_at", "updated_at"):
            shown = _when(value, row["timezone"])
        typer.echo(f"{key:<17} {shown}")
    for e in events:
        typer.echo(f"event  {_when(e['created_at'])}  {e['kind']:<16} x{e['count']}  "
                   f"{e['detail'] or ''}")


@app.command("pause")
def pause(name: str = typer.Argument(..., help=NAME_HELP)) -> None:
    """Stop firing a schedule until it is resumed."""
    _call(lambda svc: svc.pause(name))
    typer.echo(f"paused {name}")


@app.command("resume")
def resume(name: str = typer.Argument(..., help=NAME_HELP)) -> None:
    """Fire a paused schedule again, from its next occurrence (paused time is not caught up)."""
    row = _call(lambda svc: svc.resume(name))
    typer.echo(f"resumed {name}: next run {_when(row['next_run_at'], row['timezone'])}")


@app.command("remove")
def remove(name: str = typer.Argument(..., help=NAME_HELP)) -> None:
    """Delete a schedule; the runs it made stay, unlinked."""
    _call(lambda svc: svc.delete(name))
    typer.echo(f"removed {name}")


@app.command("trigger")
def trigger(name: str = typer.Argument(..., help=NAME_HELP)) -> None:
    """Fire a schedule now (whatever its overlap setting) and print the run's job uuid."""
    job = _call(lambda svc: svc.trigger(name))
    typer.echo(job["uuid"])


@app.command("history")
def history(
    name: str = typer.Argument(..., help=NAME_HELP),
    limit: int = typer.Option(20, "--limit", min=1, max=1000,
                              help="How many of the newest runs to show, 1 to 1000"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """Show a schedule's runs (status, start, duration, error) and what was skipped."""
    async def go(svc: ScheduleService) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return await svc.history(name, limit), await svc.events(name, limit)

    runs, events = _call(go)
    if as_json:
        print_json({"runs": runs, "events": events})
        return
    typer.echo(f"{'SCHEDULED FOR':<24} {'STATUS':<16} {'STARTED':<24} {'DURATION':>9} "
               f"{'LATE':>8}  ERROR")
    for r in runs:
        took = "-" if r["duration_s"] is None else f"{r['duration_s']:.2f}s"
        late = "-" if r["lateness_ms"] is None else f"{r['lateness_ms']}ms"
        typer.echo(f"{_when(r['scheduled_for']):<24} {r['status']:<16} "
                   f"{_when(r['started_at']):<24} {took:>9} {late:>8}  {r['error'] or ''}")
    skipped = [e for e in events if e["kind"] != "triggered"]
    for e in skipped:
        typer.echo(f"{_when(e['scheduled_for']):<24} {e['kind']:<16} x{e['count']}  "
                   f"{e['detail'] or ''}")


@app.command("explain")
def explain_cmd(
    name: str = typer.Argument(None, help="An existing schedule (or give --cron)"),
    cron: str = typer.Option(None, "--cron", help="Explain this expression instead"),
    tz: str = typer.Option("UTC", "--tz", help="Time zone for --cron"),
    count: int = typer.Option(10, "--count", help="How many fire times"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """Print the next fire times in local time and UTC, flagging DST gaps and repeats."""
    if (name is None) == (cron is None):
        fail("give a schedule NAME or --cron (with --tz), not both", 2)
    target: str | ScheduleSpec = name if cron is None else ScheduleSpec.model_construct(
        name="explain", cron=cron, timezone=tz, job_type="")
    fires = _call(lambda svc: svc.explain(target, count))
    if as_json:
        print_json(fires)
        return
    typer.echo(f"{'LOCAL':<24} {'UTC':<20}")
    for f in fires:
        local = datetime.fromisoformat(f["local"])
        utc = datetime.fromisoformat(f["utc"])
        note = f"   ! {f['note']}" if f["note"] else ""
        typer.echo(f"{local.strftime('%Y-%m-%d %H:%M %z'):<24} {utc:%Y-%m-%d %H:%M} UTC{note}")
