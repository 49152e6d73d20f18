"""`supervisor status`: which processes are alive, what they hold, and the jobs by state."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg
import typer

from supervisor.cli.common import fail, open_pool, print_json, run_async, settings
from supervisor.cluster.report import build_report
from supervisor.states import ALL_STATUSES
from supervisor.store.jobs import JobStore
from supervisor.store.nodes import NodeStore

EX_NONE_ALIVE = 3  # like `systemctl status` for a unit that is not running
HELP = """Show which supervisor processes are alive and what the jobs are doing.

Reads the process registry (the nodes table) and the jobs table of the configured database: each
process's host, pid, roles, start time and heartbeat age, judged alive, stale (no heartbeat for
NODE_STALE_SECONDS: it crashed or hangs, and its jobs are being rescued) or stopped; the jobs it
holds in memory and runs per lane, and what it finished; services that stopped making progress;
the wait of the oldest ready job; the last scheduler tick; and the jobs per state and type.

Exit status: 0 if at least one process is alive, 3 if none is, 69 if the database cannot be
reached, 78 if a setting is invalid."""


def ago(seconds: float | None) -> str:
    """A short human duration."""
    if seconds is None:
        return "n/a"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours < 48 else f"{hours // 24}d{hours % 24:02d}h"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """Aligned columns: numbers to the right, text to the left."""
    cells = [[str(c) for c in headers], *[["-" if c is None else str(c) for c in r] for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [any(isinstance(r[i], int) for r in rows)
               and all(r[i] is None or isinstance(r[i], int) for r in rows)
               for i in range(len(headers))]
    return ["  ".join(c.rjust(w) if num else c.ljust(w)
                      for c, w, num in zip(r, widths, numeric, strict=True)).rstrip()
            for r in cells]


def _process_lines(report: Mapping[str, Any]) -> list[str]:
    rows = []
    for p in report["processes"]:
        live = p["state"] == "alive"
        lanes = ", ".join(f"{n} {v['queued']}/{v['running']}" for n, v in p["lanes"].items())
        started = datetime.fromisoformat(p["started_at"]).astimezone()
        state = p["state"] + (" (draining)" if live and p["draining"] else "")
        rows.append([state, p["host"], p["pid"], ",".join(p["roles"]),
                     started.strftime("%Y-%m-%d %H:%M:%S"), ago(p["heartbeat_age"]) + " ago",
                     (lanes or "-") if live else "-", p["finished"], p["per_minute"] if live
                     else None])
    lines = table(["STATE", "HOST", "PID", "ROLES", "STARTED", "HEARTBEAT",
                   "QUEUED/RUNNING", "FINISHED", "JOBS/MIN"], rows) if rows else []
    for p in report["processes"]:
        if p["state"] == "alive" and p["stalled"]:
            lines.append(f"  pid {p['pid']} on {p['host']}: no progress from "
                         + ", ".join(f"{n} ({ago(p['progress_age'].get(n))})"
                                     for n in p["stalled"]))
    return lines


def _job_lines(jobs: Mapping[str, Any]) -> list[str]:
    rows: list[list[Any]] = [
        [job_type, *[per.get(s, 0) for s in ALL_STATUSES], sum(per.values())]
        for job_type, per in jobs["by_type"].items()]
    rows.append(["all", *[jobs["by_status"][s] for s in ALL_STATUSES], jobs["total"]])
    return table(["JOB TYPE", *ALL_STATUSES, "total"], rows)


def render(report: Mapping[str, Any]) -> list[str]:
    """The report as text for a person."""
    hidden = report["alive"] + report["stale"] + report["stopped"] - len(report["processes"])
    lines = [f"processes: {report['alive']} alive, {report['stale']} stale, "
             f"{report['stopped']} stopped" + (f" ({hidden} not listed; --all lists them)"
                                               if hidden else "")]
    lines += _process_lines(report)
    lines += ["", "last scheduler tick: " + _tick_text(report),
              "oldest ready job waiting: " + ago(report["jobs"]["oldest_ready_age"]), ""]
    return lines + _job_lines(report["jobs"])


def _tick_text(report: Mapping[str, Any]) -> str:
    tick = report["last_scheduler_tick_age"]
    if tick is not None:
        return f"{ago(tick)} ago"
    if report["live_schedulers"]:
        # A process that just started heartbeats before its first tick is reported.
        return "none yet (a live scheduler is starting)"
    return "n/a (no live scheduler)"


async def _fetch(config: Any, show_all: bool) -> dict[str, Any]:
    async with open_pool(config, apply_migrations=False) as pool:
        jobs = JobStore(pool)
        try:
            nodes, counts = await NodeStore(pool).list(), await jobs.counts()
            oldest = await jobs.oldest_ready_age()
        except asyncpg.UndefinedTableError:
            fail("this database has no supervisor tables: no process has ever started on it "
                 "(`supervisor db migrate` creates them)", EX_NONE_ALIVE)
    return build_report([dict(r) for r in nodes], [dict(r) for r in counts], oldest,
                        stale_seconds=config.node_stale_seconds,
                        show_all=show_all)


def register(app: typer.Typer) -> None:
    """Attach `status` to the main app."""

    @app.command("status", help=HELP)
    def status(
        as_json: bool = typer.Option(False, "--json", help="Print JSON, not a table."),
        show_all: bool = typer.Option(False, "--all", help="Also list stopped processes and "
                                      "ones silent for more than a day."),
    ) -> None:
        config = settings()
        report = run_async(lambda: _fetch(config, show_all))
        if as_json:
            print_json(report)
        else:
            typer.echo("\n".join(render(report)))
        raise typer.Exit(0 if report["alive"] else EX_NONE_ALIVE)
