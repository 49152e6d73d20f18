"""`supervisor data export`: create an export job, follow its progress, download the file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

import anyio
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from services.contacts.export import ExportCsvFile
from services.shared.objects import ObjectStoreError
from supervisor.cli.common import FamilyRuntime, fail, family_runtime, run_async
from supervisor.jobtypes import JobInputError, Registry

FAMILY = "contacts"
ENDED = ("completed", "dead", "cancelled")
POLL_SECONDS = 0.5
EX_USAGE = 2


def data_app(root: typer.Typer) -> typer.Typer:
    """The `supervisor data` group: the one already registered, or a new one."""
    for group in root.registered_groups:
        if group.name == "data" and group.typer_instance is not None:
            return group.typer_instance
    app = typer.Typer(help="Contacts and companies: import and export CSV files.",
                      no_args_is_help=True)
    root.add_typer(app, name="data")
    return app


def register(root: typer.Typer) -> None:
    """Add `data export` to the root command."""
    data_app(root).command("export")(export_command)


def read_vql(path: str) -> dict[str, Any]:
    """The VQL object in FILE.json ('-' for stdin), or a clear exit naming the problem."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as exc:
        fail(f"--vql {path}: cannot read it ({exc.strerror}); give a JSON file of a VQL query",
             EX_USAGE)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"--vql {path}: not valid JSON ({exc.msg} at line {exc.lineno} column "
             f"{exc.colno})", EX_USAGE)
    if not isinstance(value, dict):
        fail(f"--vql {path}: must hold one JSON object (a VQL query)", EX_USAGE)
    return value


def export_command(
    service: str = typer.Option(..., "--service", help="contact or company"),
    vql: str = typer.Option(..., "--vql", help="a JSON file of the VQL query ('-': stdin)"),
    output: Path | None = typer.Option(None, "-o", "--output",
                                       help="where to save the CSV (default: JOB_UUID.csv)"),
    bucket: str | None = typer.Option(None, "--bucket", help="object store bucket (S3_BUCKET)"),
    timeout: float = typer.Option(0, "--timeout", min=0,
                                  help="give up waiting after this many seconds (0: never)"),
) -> None:
    """Export the contacts or companies a VQL query selects to a CSV file."""
    data: dict[str, Any] = {"service": service, "vql": read_vql(vql)}
    if bucket:
        data["s3_bucket"] = bucket
    try:  # checked here, before any database, with the API's very messages
        Registry([ExportCsvFile()]).validate(ExportCsvFile.name, data)
    except JobInputError as exc:
        fail(str(exc), EX_USAGE)
    run_async(lambda: _export(data, output, timeout))


async def _export(data: dict[str, Any], output: Path | None, timeout: float) -> None:
    async with family_runtime(FAMILY) as fr:
        row = await fr.jobs.create("export_csv_file", data)
        uuid: UUID = row["uuid"]
        typer.echo(f"export job {uuid} created; a runner (`supervisor run`) picks it up")
        with anyio.move_on_after(timeout or None) as scope:
            final = await _follow(fr, uuid)
        if scope.cancelled_caught:
            fail(f"job {uuid} did not finish within {timeout:g}s; it keeps running: "
                 f"`supervisor job show {uuid}`, then download it with the API")
        await _finish(fr, final, output or Path(f"{uuid}.csv"))


async def _follow(fr: FamilyRuntime, uuid: UUID) -> Any:
    """Poll the job, drawing rows written, until it ends; its final row."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, transient=True) as bar:
        task = bar.add_task("waiting for a runner", total=None)
        while True:
            row = await fr.jobs.get(uuid)
            if row is None:
                fail(f"job {uuid} disappeared (deleted?)")
            progress = row["progress"] or {}
            if isinstance(progress, dict) and "done" in progress:
                bar.update(task, description=f"{row['status']}: rows written",
                           completed=progress["done"], total=progress.get("total"))
            if row["status"] in ENDED:
                return row
            await anyio.sleep(POLL_SECONDS)


async def _finish(fr: FamilyRuntime, row: Any, output: Path) -> None:
    """Download a completed export, or exit saying why the job ended otherwise."""
    response = row["job_response"] or {}
    if row["status"] != "completed":
        errors = "; ".join(response.get("runtime_errors") or []) or "no error recorded"
        fail(f"export job {row['uuid']} ended {row['status']}: {errors}")
    objects = fr.family.resources.objects
    bucket = (row["data"] or {}).get("s3_bucket")
    try:
        with output.open("wb") as out:
            async for chunk in objects.read(response["s3_key"], bucket=bucket):
                out.write(chunk)
    except (OSError, ObjectStoreError) as exc:
        fail(f"cannot save {response['s3_key']} to {output}: {exc}")
    typer.echo(f"{response.get('messages', 'exported')}; saved to {output}")
