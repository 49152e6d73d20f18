"""CLI: `supervisor cdp source add|list`, `supervisor cdp load FILE`, `supervisor heartbeat`."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TransferSpeedColumn
from rich.table import Table

from services.cdp.elastic import ElasticUnavailable
from services.cdp.heartbeat.job import heartbeat_pass
from services.cdp.heartbeat.params import HeartbeatParams
from services.cdp.loader import LoadReport, load
from services.cdp.resources import CdpResources
from supervisor.cli.common import FullHelpGroup, fail, family_runtime, print_json, run_async
from supervisor.cluster.redis_wake import redis_url
from supervisor.config import EX_CONFIG

EX_UNAVAILABLE = 69
cdp_app = typer.Typer(cls=FullHelpGroup, no_args_is_help=True,
                      help="Customer data: event sources and history loads.")
source_app = typer.Typer(cls=FullHelpGroup, no_args_is_help=True,
                         help="Sources allowed to POST /track without an API key.")
cdp_app.add_typer(source_app, name="source")


@source_app.command("add")
def source_add(source_id: str = typer.Argument(..., help="the source.id trackers send"),
               name: str = typer.Option("", help="a name for people")) -> None:
    """Register a source id; payloads naming it are accepted without X-API-Key."""
    if not source_id.strip() or len(source_id) > 200:
        fail("SOURCE_ID must be 1 to 200 characters, e.g. web-shop", 2)

    async def go() -> Any:
        async with family_runtime("cdp") as rt:
            res: CdpResources = rt.family.resources
            return await res.store.add_source(source_id, name or source_id)

    row = run_async(go)
    typer.echo(f"source {row['id']} registered ({row['name']})")


@source_app.command("list")
def source_list(as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Every registered source."""

    async def go() -> Any:
        async with family_runtime("cdp") as rt:
            res: CdpResources = rt.family.resources
            return await res.store.list_sources()

    rows = run_async(go)
    if as_json:
        print_json([dict(r) for r in rows])
        return
    table = Table("id", "name", "created")
    for r in rows:
        table.add_row(r["id"], r["name"], f"{r['created_at']:%Y-%m-%d %H:%M:%S}")
    Console().print(table)


@cdp_app.command("load")
def load_cmd(path: Path = typer.Argument(..., help="NDJSON file, one event document a line"),
             batch: int = typer.Option(2000, min=1, max=50_000, help="events per transaction"),
             quiet: bool = typer.Option(False, "--quiet", help="no progress bar")) -> None:
    """Load history: events kept with their own times, creating their sessions and profiles."""
    if not path.is_file():
        fail(f"{path} is not a file; give the path of an NDJSON file of event documents", 2)
    report = LoadReport()
    size = path.stat().st_size

    async def go() -> None:
        async with family_runtime("cdp") as rt:
            res: CdpResources = rt.family.resources
            with path.open(encoding="utf-8") as fh, Progress(
                    TextColumn("loading"), BarColumn(), TaskProgressColumn(),
                    TransferSpeedColumn(), disable=quiet, console=Console(stderr=True)) as bar:
                task = bar.add_task("load", total=size)
                read = [0]

                def lines() -> Iterator[str]:
                    for line in fh:
                        read[0] += len(line)
                        yield line

                await load(res.store, lines(), report, batch=batch, elastic=res.elastic,
                           progress=lambda _n: bar.update(task, completed=read[0]))

    try:
        run_async(go)
    except ElasticUnavailable as exc:
        fail(f"{exc} (after {report.stored} events stored in PostgreSQL; loading again "
             "skips them)", EX_UNAVAILABLE)
    typer.echo(f"{report.stored} events stored, {report.duplicates} already there, "
               f"{len(report.refused)} lines refused of {report.lines}")
    for bad in report.refused[:20]:
        where = f" {bad['field']}:" if bad["field"] else ""
        typer.echo(f"  line {bad['line']}:{where} {bad['error']}", err=True)
    if report.refused:
        raise typer.Exit(1)


async def _redis_note(config: Any) -> str:
    url = redis_url(config)
    if url is None:
        return "not configured"
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
    try:
        await client.ping()
        return "reachable"
    except (OSError, aioredis.RedisError) as exc:
        return f"unreachable ({exc}); not needed for this run"
    finally:
        await client.aclose()


def heartbeat_cmd() -> None:
    """One heartbeat pass set up by environment variables, as the heartbeat container runs.

    QUALIFY_BY, RANGE, SKIP_SECONDS, EVENT_TYPE, OPEN_EVENT_TYPE, CLOSE_EVENT_TYPE,
    NO_EVENTS_WITHIN_LAST, EPHEMERAL say what to do; DATABASE_URL (or ELASTIC_HOST and
    PRODUCTION) where the data is. Prints what it did as JSON and exits 0, else non-zero.
    """
    try:
        params = HeartbeatParams.from_env(os.environ)
    except ValidationError as exc:
        err = exc.errors()[0]
        fail(str(err["msg"]).removeprefix("Value error, "), EX_CONFIG)

    async def go() -> dict[str, Any]:
        async with family_runtime("cdp") as rt:
            res: CdpResources = rt.family.resources
            note = await _redis_note(rt.config)
            result = await heartbeat_pass(res, params, datetime.now(UTC))
            report = result.report(params)
            report["redis"] = note
            return report

    try:
        report = run_async(go)
    except ElasticUnavailable as exc:
        fail(str(exc), EX_UNAVAILABLE)
    emitted = ", ".join(f"{n} {t}" for t, n in report["emitted"].items()) or "nothing"
    queued = report.get("queued", {}).get("segmentation_queue")
    what = f"queued {queued} profiles for segmentation" if queued is not None else \
        f"emitted {emitted}"
    examined = ", ".join(f"{n} {k}" for k, n in report["examined"].items())
    print(f"heartbeat {params.qualify_by} over {params.range}: examined {examined}, {what}",
          file=sys.stderr)
    print_json(report)


def register_cli(app: typer.Typer) -> None:
    """Add `cdp` and `heartbeat` to the root command."""
    app.add_typer(cdp_app, name="cdp")
    app.command("heartbeat")(heartbeat_cmd)
