"""`supervisor data import FILE`: upload a CSV, create its insert_csv_file job, follow it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID

import anyio
import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from services.contacts.resources import ContactsResources
from services.shared.objects import InvalidKey, ObjectStoreError, validate_bucket, validate_key
from supervisor.cli.common import fail, family_runtime, run_async
from supervisor.store.jobs import JobStore

app = typer.Typer(help="Contacts and companies data: import CSV files.", no_args_is_help=True)
ENDED = {"completed", "dead", "cancelled"}
POLL_SECONDS = 0.5


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    async with await anyio.open_file(path, "rb") as f:
        while chunk := await f.read(1024 * 1024):
            yield chunk


def _key_for(res: ContactsResources, path: Path, key: str | None) -> str:
    try:
        return validate_key(key or f"{res.settings.upload_prefix}/{path.name}")
    except InvalidKey as exc:
        fail(f"--key: {exc}", 2)


async def _follow(jobs: JobStore, uuid: UUID) -> dict[str, Any]:
    """Show the job's progress until it ends; its last row."""
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  TimeRemainingColumn(), transient=False) as bar:
        task = bar.add_task("waiting for a daemon (supervisor run) to take the job", total=None)
        while True:
            row = await jobs.get(uuid)
            if row is None:
                fail(f"job {uuid} disappeared")
            job = dict(row)
            progress = job.get("progress") or {}
            if progress.get("total"):
                bar.update(task, completed=progress.get("done") or 0, total=progress["total"],
                           description=progress.get("message") or job["status"])
            elif job["status"] != "open":
                bar.update(task, description=job["status"])
            if job["status"] in ENDED:
                return job
            await anyio.sleep(POLL_SECONDS)


async def _import(file: Path, bucket: str | None, key: str | None, retry_count: int,
                  no_wait: bool) -> dict[str, Any] | None:
    """Upload, create the job; its final row (None with --no-wait)."""
    async with family_runtime("contacts") as rt:
        res: ContactsResources = rt.family.resources
        object_key = _key_for(res, file, key)
        try:
            await res.objects.write(object_key, _file_chunks(file), bucket=bucket,
                                    content_type="text/csv")
        except ObjectStoreError as exc:
            fail(f"upload of {file} failed: {exc}")
        data: dict[str, Any] = {"s3_key": object_key}
        if bucket is not None:
            data["s3_bucket"] = bucket
        row = await rt.jobs.create("insert_csv_file", data, retry_count=retry_count)
        typer.echo(f"uploaded {file} as {object_key}; job {row['uuid']}", err=True)
        if no_wait:
            typer.echo(str(row["uuid"]))
            return None
        return await _follow(rt.jobs, row["uuid"])


@app.command("import")
def import_file(
    file: Path = typer.Argument(..., help="CSV file (or .csv.gz) of contacts and companies"),
    bucket: str | None = typer.Option(None, "--bucket", help="Bucket; default S3_BUCKET"),
    key: str | None = typer.Option(None, "--key", help="Object key; default "
                                   "{S3_UPLOAD_FILE_PATH_PRIFIX}/{file name}"),
    retry_count: int = typer.Option(3, "--retry-count", min=0, max=1000, help="Retries allowed"),
    no_wait: bool = typer.Option(False, "--no-wait", help="Print the job uuid and return"),
) -> None:
    """Upload and import a CSV file.

    Uploads FILE to the object store, creates its insert_csv_file job and shows its progress
    until it ends (or, with --no-wait, prints the job's uuid).
    """
    if not file.is_file():
        fail(f"{file} is not a readable file; give the path of a CSV file", 2)
    if bucket is not None:
        try:
            validate_bucket(bucket)
        except InvalidKey as exc:
            fail(f"--bucket: {exc}", 2)

    job = run_async(lambda: _import(file, bucket, key, retry_count, no_wait))
    if job is None:
        return
    response = job.get("job_response") or {}
    if job["status"] == "completed":
        typer.echo(response.get("messages", "completed"))
        if response.get("errors_s3_key"):
            typer.echo(f"bad rows: {response['errors_s3_key']}")
        return
    errors = response.get("runtime_errors") or []
    fail(f"job {job['uuid']} ended {job['status']}" + (f": {errors[-1]}" if errors else ""))


def register_cli(root: typer.Typer) -> None:
    """Add `supervisor data ...` to the root command."""
    root.add_typer(app, name="data")
