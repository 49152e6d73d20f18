"""`supervisor job create|list|show|cancel|retry`: the job store from a terminal."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

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
from supervisor.jobtypes import JobInputError
from supervisor.states import ALL_STATUSES
from supervisor.store.bulk import JobFilter, cancel_matching, retry_matching
from supervisor.store.jobs import JobStore, job_dict
from supervisor.submit import JobRequest, Submitted, first_problem, prepare, submit

app = typer.Typer(cls=FullHelpGroup, help="Create, list, inspect and cancel jobs.",
                  no_args_is_help=True)

UUID_HELP = "The job's uuid, as `job create` or `job list` printed it"


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


FLAGS = {"job_type": "JOB_TYPE", "job_data": "--data", "retry_count": "--retry-count",
         "retry_interval": "--retry-interval", "priority": "--priority",
         "unique_key": "--unique-key", "unique_states": "--unique-states", "timeout": "--timeout"}


def _request(fields: dict[str, Any]) -> JobRequest:
    """The create request, or exit 2 naming the flag (and the place inside --data) to fix."""
    try:
        return JobRequest.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        field, text = first_problem(exc)
        top = field.split(".", 1)[0].split("[", 1)[0]
        if top in FLAGS and text.startswith(f"{top}: "):
            text = text[len(top) + 2:]  # the flag names it; deeper paths stay (job_data.a)
        fail(f"{FLAGS.get(top, top)}: {text}", 2)


def _json_data(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"--data is not valid JSON: {exc}", 2)
    except RecursionError:
        fail("--data is nested too deeply", 2)


@app.command("create")
def create(
    job_type: str = typer.Argument(..., help="Job type, e.g. noop, sleep"),
    data: str = typer.Option("{}", "--data", help='Job data as JSON, e.g. \'{"seconds": 2}\''),
    retry_count: int = typer.Option(None, "--retry-count", help="Retries allowed (default 0)"),
    retry_interval: int = typer.Option(None, "--retry-interval",
                                       help="Seconds between tries (default 30)"),
    priority: int = typer.Option(None, "--priority", help="0 runs first .. 9 last (default 5)"),
    unique_key: str = typer.Option(None, "--unique-key", help="Create only if no job with this "
                                   "key is in --unique-states; else print the existing uuid"),
    unique_states: str = typer.Option(None, "--unique-states", help="Comma-separated states "
                                      "the key is unique across (default: all not ended)"),
    timeout: float = typer.Option(None, "--timeout", help="Seconds a run may take"),
) -> None:
    """Create a job and print its uuid (a duplicate's uuid, and a note, for a unique key)."""
    states = [s.strip() for s in unique_states.split(",")] if unique_states else None
    req = _request({"job_type": job_type, "job_data": _json_data(data),
                    "retry_count": retry_count, "retry_interval": retry_interval,
                    "priority": priority, "unique_key": unique_key, "unique_states": states,
                    "timeout": timeout})
    registry = families().registry
    try:
        prepare(registry, req)  # refuse a bad payload before opening the database
    except JobInputError as exc:
        fail(str(exc), 2)

    async def go(store: JobStore) -> Submitted:
        return await submit(store, registry, req)

    result: Submitted = _with_store(go)
    typer.echo(str(result.uuid))
    if result.duplicate:
        typer.echo(f"duplicate: job {result.uuid} already has unique key {unique_key!r}; "
                   "nothing was created", err=True)


@app.command("list")
def list_jobs(
    status: list[str] = typer.Option(None, "--status", help="Filter; repeat for several: "
                                     + ", ".join(ALL_STATUSES)),
    job_type: str = typer.Option(None, "--type", help="Filter by job type"),
    limit: int = typer.Option(25, "--limit", min=1, max=1000,
                              help="How many of the newest jobs to show, 1 to 1000"),
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
def show(
    uuid: str = typer.Argument(..., help=UUID_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
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


def _change(uuid: str | None, change: Callable[[JobStore, UUID], Awaitable[Any]], done: str,
            refused: str) -> None:
    """Apply a state change to one job, or say why it does not apply."""
    assert uuid is not None
    key = _uuid(uuid)

    async def go(store: JobStore) -> Any:
        return await change(store, key), await store.get(key)

    row, current = _with_store(go)
    if row is None:
        fail(f"no job {uuid}" if current is None else f"job {uuid} is {current['status']}"
             + refused, 1)
    typer.echo(f"{done} {uuid}")


def _filter(status: list[str] | None, job_type: str | None, before: str | None) -> JobFilter:
    bad = [s for s in status or [] if s not in ALL_STATUSES]
    if bad:
        fail(f"--status: unknown state {bad[0]!r}; choose from {', '.join(ALL_STATUSES)}", 2)
    when = None
    if before is not None:
        try:
            when = datetime.fromisoformat(before)
        except ValueError:
            fail(f"--created-before: {before!r} is not an ISO 8601 time, e.g. 2026-01-31 or "
                 "2026-01-31T12:00:00+00:00", 2)
        try:
            when = (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)
        except OverflowError:
            fail(f"--created-before: {before!r} is outside the years 1 to 9999 in UTC", 2)
    return JobFilter(status or [], job_type, when)


def _bulk_or_one(uuid: str | None, flt: JobFilter, one: Callable[[], None],
                 many: Callable[[JobStore, JobFilter], Awaitable[int]], done: str) -> None:
    has_filter = bool(flt.statuses) or flt.job_type is not None or flt.created_before is not None
    if uuid is not None and has_filter:
        fail("give a job uuid or filters (--status, --type, --created-before), not both", 2)
    if uuid is not None:
        one()
        return
    if not has_filter:
        fail("give a job uuid, or filters (--status, --type, --created-before) saying which "
             "jobs", 2)

    async def go(store: JobStore) -> int:
        return await many(store, flt)

    typer.echo(f"{done} {_with_store(go)} job(s)")


STATUS_HELP = "Only jobs in this state; repeat for several"
TYPE_HELP = "Only jobs of this type"
BEFORE_HELP = "Only jobs created before this ISO 8601 time (UTC if no zone)"


@app.command("cancel")
def cancel(
    uuid: str = typer.Argument(None, help="The job; or leave out and filter"),
    status: list[str] = typer.Option(None, "--status", help=STATUS_HELP),
    job_type: str = typer.Option(None, "--type", help=TYPE_HELP),
    created_before: str = typer.Option(None, "--created-before", help=BEFORE_HELP),
) -> None:
    """Cancel a job, or every matching job, that has not ended (running ones are interrupted)."""
    _bulk_or_one(uuid, _filter(status, job_type, created_before),
                 lambda: _change(uuid, JobStore.cancel, "cancelled",
                                 " already; nothing to cancel"),
                 cancel_matching, "cancelled")


@app.command("retry")
def retry(
    uuid: str = typer.Argument(None, help="The job; or leave out and filter"),
    status: list[str] = typer.Option(None, "--status", help=STATUS_HELP),
    job_type: str = typer.Option(None, "--type", help=TYPE_HELP),
    created_before: str = typer.Option(None, "--created-before", help=BEFORE_HELP),
) -> None:
    """Run a failed, dead or cancelled job (or every matching one) again now, retries renewed."""
    _bulk_or_one(uuid, _filter(status, job_type, created_before),
                 lambda: _change(uuid, JobStore.retry_now, "re-opened",
                                 "; only failed, dead or cancelled jobs retry"),
                 retry_matching, "re-opened")
