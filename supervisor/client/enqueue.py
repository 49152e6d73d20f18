"""Enqueueing on an application's connection: the API's request checks, then one statement."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any
from uuid import uuid4

from pydantic import ValidationError

from supervisor.families import discover
from supervisor.jobtypes import JobInputError, Registry
from supervisor.store.jobs import NewJob
from supervisor.submit import DEFAULT_UNIQUE_STATES, JobRequest, first_problem, prepare

MAX_AHEAD = timedelta(days=366)  # a run_after further ahead is almost surely a unit mistake


@cache
def installed_registry() -> Registry:
    """The job types installed in this process (found once)."""
    return discover().registry


def new_job(job_type: str, data: Any, options: dict[str, Any], validate: bool) -> NewJob:
    """The job to insert, checked as the API checks it; JobInputError names the field."""
    given = {k: v for k, v in options.items() if v is not None}
    try:
        req = JobRequest.model_validate({"job_type": job_type, "job_data": data, **given})
    except ValidationError as exc:
        field, text = first_problem(exc)
        raise JobInputError(text, field=field) from None
    if validate:
        return prepare(installed_registry(), req)
    # Enqueue-only applications may not have the job type installed: the daemon checks it
    # when it claims the job (an unknown type ends `dead` with the registry's message).
    return NewJob(uuid4(), req.job_type, req.job_data, req.retry_count, req.retry_interval,
                  req.priority, req.timeout, req.unique_key,
                  tuple(str(s) for s in req.unique_states or DEFAULT_UNIQUE_STATES))


def checked_run_after(run_after: datetime | None) -> datetime | None:
    """An aware time at most a year ahead, or JobInputError."""
    if run_after is None:
        return None
    if run_after.tzinfo is None:
        raise JobInputError("run_after must be timezone-aware, e.g. datetime.now(UTC) + "
                            "timedelta(minutes=5)", field="run_after")
    if run_after - datetime.now(UTC) > MAX_AHEAD:
        raise JobInputError("run_after must be at most a year ahead", field="run_after")
    return run_after


def insert_args(job: NewJob, run_after: datetime | None) -> list[Any]:
    """Parameters $1..$8 of client_insert (and of client_insert_unique, with $9 and $10)."""
    return [job.uuid, job.job_type, json.dumps(job.data), job.retry_count, job.retry_interval,
            job.priority, job.timeout_seconds, run_after]
