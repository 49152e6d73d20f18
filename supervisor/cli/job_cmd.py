"""`supervisor job create|list|show|cancel|retry`: the job store from a terminal."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import typer

from supervisor.cli.common import fail, families, open_pool, print_json, run_async, settings
from supervisor.jobtypes import JobInputError
from supervisor.states import ALL_STATUSES
from supervisor.store.jobs import JobStore, job_dict

app = typer.Typer(help="Create, list, inspect and cancel jobs.", no_args_is_help=True)


def _uuid(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        fail(f"{text!r} is not a job uuid (expected e.g. 3f2b0c1e-...)", 2)


def _with_store(fn: Any) -> Any:
    config = settings()

    async def go() -> Any:
        async with open_pool(config) as pool:
            return await fn(JobStore(pool))

    return run_async(go)


@app.command("create")
def create(
    job_type: str = typer.Argument(..., help="Job type, e.g. noop, sleep"),
    data: str = typer.Option("{}", "--data", help='Job data as JSON, e.g. \'{"seconds": 2}\''),
    retry_count: int = typer.Option(0, "--retry-count", min=0, help="Retries allowed"),
    retry_interval: int = typer.Option(30, "--retry-interval", min=0,
                                       help="Seconds between tries"),
) -> None:
    """Create a job and print its uuid."""
    try:
        payload = json.loads(data)
    except json.JSONDecodeError as exc:
        fail(f"--data is not valid JSON: {exc}", 2)
    try:
        payload = families().registry.validate(job_type, payload)
    except JobInputError as exc:
        fail(str(exc), 2)

    async def go(store: JobStore) -> Any:
        return await store.create(job_type, payload, retry_count=retry_count,
                                  retry_interval=retry_interval)

    typer.echo(str(_with_store(go)["uuid"]))


@app.command("list")
def list_jobs(
    status: list[str] = typer.Option(None, "--status", help="Filter; repeat for several: "
                                     + ", ".join(ALL_STATUSES)),
    job_type: str = typer.Option(None, "--type", help="Filter by job type"),
    limit: int = typer.Option(25, "--limit", min=1, max=1000),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """List the newest jobs."""
    bad = [s for s in status or [] if s not in ALL_STATUSES]
    if bad:
        fail(f"unknown status {bad[0]!r}; choose from {', '.join(ALL_STATUSES)}", 2)

    async def go(store: JobStore) -> Any:
        return await store.list(statuses=status or None, job_type=job_type, limit=limit)

    rows = [job_dict(r) for r in _with_store(go)]
    if as_json:
        print_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['uuid']}  {r['job_type']:<16} {r['status']:<16} "
                   f"attempts={r['attempts']}  created={r['created_at']}")
    typer.echo(f"({len(rows)} job(s))", err=True)


@app.command("show")
def show(uuid: str, as_json: bool = typer.Option(False, "--json", help="Print JSON")) -> None:
    """Show one job, with its response and errors."""
    key = _uuid(uuid)

    async def go(store: JobStore) -> Any:
        return await store.get(key)

    row = _with_store(go)
    if row is None:
        fail(f"no job {uuid}", 1)
    job = job_dict(row)
    if as_json:
        print_json(job)
        return
    for k, v in job.items():
        typer.echo(f"{k:<15} {json.dumps(v) if isinstance(v, dict | list) else v}")


def _change(uuid: str, change: Callable[[JobStore, UUID], Awaitable[Any]], done: str,
            refused: str) -> None:
    """Apply a state change to one job, or say why it does not apply."""
    key = _uuid(uuid)

    async def go(store: JobStore) -> Any:
        return await change(store, key), await store.get(key)

    row, current = _with_store(go)
    if row is None:
        fail(f"no job {uuid}" if current is None else f"job {uuid} is {current['status']}"
             + refused, 1)
    typer.echo(f"{done} {uuid}")


@app.command("cancel")
def cancel(uuid: str) -> None:
    """Cancel a job that has not ended (a running one is interrupted)."""
    _change(uuid, JobStore.cancel, "cancelled", " already; nothing to cancel")


@app.command("retry")
def retry(uuid: str) -> None:
    """Run a failed, dead or cancelled job again now, with its attempts reset."""
    _change(uuid, JobStore.retry_now, "re-opened", "; only failed, dead or cancelled jobs retry")
