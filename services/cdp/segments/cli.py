"""CLI: `supervisor segment add|list|show|enable|disable|remove|test`,
`supervisor cdp schedule-event`."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from services.cdp import delayed
from services.cdp.segments import service
from services.cdp.segments.condition.times import parse_offset
from services.cdp.segments.model import FieldError, segment_out
from services.cdp.segments.store import SegmentStore
from supervisor.cli.common import FamilyRuntime, fail, family_runtime, print_json, run_async

T = TypeVar("T")
FAMILY = "segments"
segment_app = typer.Typer(help="Conditional and workflow segments of profiles.",
                          no_args_is_help=True)


def _run(work: Callable[[FamilyRuntime], Awaitable[T]]) -> T:
    """Run `work` with the family open; bad input is a message and exit 2, not a traceback."""
    async def go() -> T:
        async with family_runtime(FAMILY) as rt:
            return await work(rt)
    try:
        return run_async(go)
    except FieldError as exc:
        fail(f"{exc.field}: {exc.message}", 2)


def _store(rt: FamilyRuntime) -> SegmentStore:
    return SegmentStore(rt.family.resources.pool)


@segment_app.command("add")
def add(name: str = typer.Option(..., help="e.g. 'Frequent visitor' (id: frequent-visitor)"),
        condition: str = typer.Option("", help="e.g. 'profile@stats.visits > 10'"),
        event_type: list[str] = typer.Option([], "--event-type", help="event types that "
                                             "trigger post-event segmentation (repeatable)"),
        description: str = typer.Option("", help="what the segment means, for people"),
        workflow: str = typer.Option("", help="job type deciding instead of a condition"),
        disabled: bool = typer.Option(False, help="save it disabled"),
        as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Create or replace a segment; the condition is checked first."""
    body: dict[str, Any] = {"name": name, "description": description, "eventType": event_type,
                            "enabled": not disabled}
    body.update({"type": "workflow", "workflow": workflow} if workflow else
                {"condition": condition})
    row = _run(lambda rt: service.save_segment(rt.family.resources.pool, body,
                                               rt.families.registry.names()))
    _show(segment_out(row), as_json)


@segment_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Every segment."""
    rows = [segment_out(r) for r in _run(lambda rt: _store(rt).all())]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "enabled", "event types", "condition / workflow")
    for r in rows:
        table.add_row(r["id"], "yes" if r["enabled"] else "no", ", ".join(r["eventType"]),
                      r["condition"] or f"workflow: {r.get('workflow')}")
    Console().print(table)


def _one(sid: str, work: Callable[[SegmentStore], Awaitable[Any]]) -> dict[str, Any]:
    row = _run(lambda rt: work(_store(rt)))
    if row is None:
        fail(f"no segment {sid!r}; see `supervisor segment list`", 1)
    return segment_out(row)


def _show(seg: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(seg)
        return
    for key, value in seg.items():
        typer.echo(f"{key:12} {value}")


@segment_app.command("show")
def show(sid: str = typer.Argument(..., help="segment id, e.g. frequent-visitor"),
         as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """One segment."""
    _show(_one(sid, lambda s: s.get(sid)), as_json)


@segment_app.command("enable")
def enable(sid: str = typer.Argument(..., help="segment id")) -> None:
    """Enable a segment."""
    _show(_one(sid, lambda s: s.set_enabled(sid, True)), False)


@segment_app.command("disable")
def disable(sid: str = typer.Argument(..., help="segment id")) -> None:
    """Disable a segment (its id stays on profiles)."""
    _show(_one(sid, lambda s: s.set_enabled(sid, False)), False)


@segment_app.command("remove")
def remove(sid: str = typer.Argument(..., help="segment id")) -> None:
    """Delete a segment."""
    if not _run(lambda rt: _store(rt).remove(sid)):
        fail(f"no segment {sid!r}; see `supervisor segment list`", 1)
    typer.echo(f"removed {sid}")


@segment_app.command("test")
def test(target: str = typer.Argument(..., help="a segment id or a condition"),
         limit: int = typer.Option(20, min=0, max=1000, help="profile ids to list"),
         as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Which profiles match (and how many), without changing them."""
    async def work(rt: FamilyRuntime) -> dict[str, Any]:
        row = await _store(rt).get(target)
        text = row["condition"] if row is not None and row["condition"] else target
        return await service.test_condition(rt.family.resources.pool, text, limit)
    out = _run(work)
    if as_json:
        print_json(out)
        return
    typer.echo(f"{out['matched']} profile(s) match {out['condition']}")
    for pid in out["profiles"]:
        typer.echo(f"  {pid}")


def schedule_event(
        event_type: str = typer.Argument(..., help="the event type, e.g. reminder"),
        at: str = typer.Option("", help="due time, ISO 8601 (default: now)"),
        within: str = typer.Option("", "--in", help="due after a duration, e.g. 15m, 2h, 1d"),
        source: str = typer.Option(..., help="source.id of the event"),
        profile: str = typer.Option("", help="profile.id"),
        session: str = typer.Option("", help="session.id"),
        properties: str = typer.Option("{}", help="JSON object")) -> None:
    """Collect an event later (a delayed_event job due then)."""
    when: Any = datetime.now(UTC).timestamp()
    if at and within:
        fail("give --at or --in, not both", 2)
    if within:
        offset = parse_offset(within)
        if offset is None:
            fail(f"--in {within!r}: write a duration such as 15m, 2h or 1d", 2)
        when += offset.total_seconds()
    elif at:
        when = at
    try:
        props = json.loads(properties)
    except json.JSONDecodeError as exc:
        fail(f"--properties is not JSON ({exc}); e.g. '{{\"plan\": \"gold\"}}'", 2)
    event: dict[str, Any] = {"type": event_type, "properties": props, "source": {"id": source}}
    event.update({k: {"id": v} for k, v in (("profile", profile), ("session", session)) if v})

    async def work(rt: FamilyRuntime) -> dict[str, Any]:
        task: delayed.DelayedEvent = service.validated(delayed.DelayedEvent,
                                                       {"timestamp": when, "event": event})
        row = await rt.jobs.create(delayed.JOB_TYPE, task.model_dump(mode="json"),
                                   retry_count=3, run_after=delayed.run_after(task))
        return {"id": str(row["uuid"]), "due": task.due.isoformat()}
    out = _run(work)
    typer.echo(f"scheduled {event_type} as job {out['id']}, due {out['due']}")


def register_cli(app: typer.Typer) -> None:
    """Add `segment` to the root command and `schedule-event` to `cdp`."""
    from services.cdp.cli import cdp_app

    app.add_typer(segment_app, name="segment")
    cdp_app.command("schedule-event")(schedule_event)
