"""The Jobs API: create and list as documented, plus show, cancel and retry-now."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic_core import ErrorDetails

from supervisor.api.auth import ApiContext, authorized, reads_only
from supervisor.api.body import FieldRule, is_missing, parse_body
from supervisor.api.errors import (
    INVALID_RETRY_COUNT,
    MISSING_JOB_DATA,
    MISSING_JOB_TYPE,
    ApiError,
    rule_code,
)
from supervisor.api.models import INT32_MAX, Created, CreateJob, JobList, ListJobs, OneJob
from supervisor.api.openapi import ERRORS, body_of
from supervisor.jobtypes import JobInputError
from supervisor.states import ALL_STATUSES
from supervisor.store.jobs import job_dict
from supervisor.submit import TEXT_MAX, TIMEOUT_MAX, error_text, prepare

router = APIRouter(prefix="/common/jobs", tags=["jobs"])
CURSOR_TAG = b"jobs:"  # cursors are opaque to clients; the tag catches pasted garbage


def _job_type_rule(err: ErrorDetails) -> str:
    if is_missing(err):
        return MISSING_JOB_TYPE
    return ("ERR_INVALID_JOB_TYPE: 'job_type' must be a string naming a job type "
            f"of at most 200 characters (got {err.get('input')!r:.60})")


def _job_data_rule(err: ErrorDetails) -> str:
    if is_missing(err):
        return MISSING_JOB_DATA
    if err["type"] == "unstorable":
        return f"ERR_INVALID_JOB_DATA: {error_text(err)}"
    return "ERR_INVALID_JOB_DATA: 'job_data' must be a JSON object, e.g. {\"s3_key\": \"a.csv\"}"


def _retry_count_rule(err: ErrorDetails) -> str:
    if err["type"] == "less_than_equal":
        return (f"ERR_INVALID_RETRY_COUNT: 'retry_count' must be at most {INT32_MAX}; "
                "use a smaller number of retries")
    return INVALID_RETRY_COUNT


def _retry_interval_rule(err: ErrorDetails) -> str:
    return ("ERR_INVALID_RETRY_INTERVAL: 'retry_interval' must be a whole number of seconds "
            f"from 0 to {INT32_MAX} (got {err.get('input')!r:.60})")


def _priority_rule(err: ErrorDetails) -> str:
    return ("ERR_INVALID_PRIORITY: 'priority' must be a whole number from 0 (runs first) to 9 "
            f"(runs last) (got {err.get('input')!r:.60})")


def _unique_key_rule(err: ErrorDetails) -> str:
    return (f"ERR_INVALID_UNIQUE_KEY: 'unique_key' must be a string of 1 to {TEXT_MAX} "
            f"characters without NUL (got {err.get('input')!r:.60})")


def _timeout_rule(err: ErrorDetails) -> str:
    return ("ERR_INVALID_TIMEOUT: 'timeout' must be a number of seconds above 0 and at most "
            f"{TIMEOUT_MAX} (366 days) (got {err.get('input')!r:.60})")


CREATE_RULES: dict[str, FieldRule] = {
    "job_type": _job_type_rule, "job_data": _job_data_rule,
    "retry_count": _retry_count_rule, "retry_interval": _retry_interval_rule,
    "priority": _priority_rule, "unique_key": _unique_key_rule, "timeout": _timeout_rule,
}


def _status_rule(err: ErrorDetails) -> str:
    allowed = ", ".join(ALL_STATUSES)
    if len(err["loc"]) > 1:
        return (f"ERR_INVALID_STATUS: status {err.get('input')!r:.60} is not a job state; "
                f"use any of: {allowed}")
    return (f"ERR_INVALID_STATUS: 'status' must be a list of job states, e.g. [\"open\"], "
            f"with at most {len(ALL_STATUSES)} entries from: {allowed}")


def _limit_rule(err: ErrorDetails) -> str:
    return (f"ERR_INVALID_LIMIT: 'limit' must be an integer from 1 to 100 (got "
            f"{err.get('input')!r:.60}); page through more jobs with next_cursor")


LIST_RULES: dict[str, FieldRule] = {"status": _status_rule, "limit": _limit_rule}


CREATE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": Created, "description": "A job with the same unique_key exists: its uuid, "
          "duplicate true, nothing created"},
    **ERRORS,
}


@router.post("/create", status_code=201, response_model=Created, responses=CREATE_RESPONSES,
             openapi_extra=body_of(CreateJob), summary="Create a job")
async def create_job(request: Request, ctx: ApiContext = Depends(authorized)) -> JSONResponse:
    """Create an open job; runners pick it up within milliseconds."""
    req = await parse_body(request, CreateJob, CREATE_RULES)
    try:
        job = prepare(ctx.runtime.registry, req)
    except JobInputError as exc:
        raise ApiError(400, f"{rule_code(exc.field or 'job_data')}: {exc}", exc.field) from None
    if job.unique_key is not None:
        uuid, duplicate = await ctx.runtime.jobs.create_unique(job)
        if duplicate:
            return JSONResponse({"message": f"Duplicate job: job {uuid} already has this "
                                 "unique_key; nothing was created", "success": True,
                                 "uuid": str(uuid), "duplicate": True}, status_code=200)
    else:
        uuid = await ctx.batcher.create_job(job)
    return JSONResponse({"message": "Job created successfully", "success": True,
                         "uuid": str(uuid), "duplicate": False}, status_code=201)


@router.post("", response_model=JobList, responses=ERRORS, openapi_extra=body_of(ListJobs),
             summary="List jobs")
@reads_only
async def list_jobs(request: Request, ctx: ApiContext = Depends(authorized)) -> JSONResponse:
    """Newest jobs first, filtered by type and states, a page at a time."""
    req = await parse_body(request, ListJobs, LIST_RULES)
    limit = 25 if req.limit is None else req.limit
    rows = await ctx.runtime.jobs.list(
        statuses=[s.value for s in req.status] if req.status else None, job_type=req.job_type,
        before_id=decode_cursor(req.cursor) if req.cursor else None, limit=limit)
    jobs = [job_dict(r) for r in rows]
    following = encode_cursor(jobs[-1]["id"]) if len(jobs) == limit else None
    return JSONResponse({"data": jobs, "success": True, "next_cursor": following})


@router.get("/{uuid}", response_model=OneJob, responses=ERRORS, summary="Show a job")
async def get_job(uuid: UUID, ctx: ApiContext = Depends(authorized)) -> JSONResponse:
    """One job with its response, errors and progress."""
    row = await ctx.runtime.jobs.get(uuid)
    if row is None:
        raise _no_job(uuid)
    return JSONResponse({"data": job_dict(row), "success": True})


@router.post("/{uuid}/cancel", response_model=OneJob, responses=ERRORS, summary="Cancel a job")
async def cancel_job(uuid: UUID, ctx: ApiContext = Depends(authorized)) -> JSONResponse:
    """Cancel a job that has not ended; a running one is interrupted."""
    row = await ctx.runtime.jobs.cancel(uuid)
    if row is None:
        current = await _current(ctx, uuid)
        raise ApiError(409, f"ERR_JOB_NOT_CANCELLABLE: job {uuid} is {current} already; only "
                       "jobs that have not ended can be cancelled", "uuid")
    return _one(row, "Job cancelled")


@router.post("/{uuid}/retry", response_model=OneJob, responses=ERRORS,
             summary="Run a job again now")
async def retry_job(uuid: UUID, ctx: ApiContext = Depends(authorized)) -> JSONResponse:
    """Re-open a failed, dead or cancelled job now: retries renewed, its runs numbered on."""
    row = await ctx.runtime.jobs.retry_now(uuid)
    if row is None:
        current = await _current(ctx, uuid)
        raise ApiError(409, f"ERR_JOB_NOT_RETRYABLE: job {uuid} is {current}; only failed, dead "
                       "or cancelled jobs can be run again", "uuid")
    return _one(row, "Job re-opened")


async def _current(ctx: ApiContext, uuid: UUID) -> str:
    row = await ctx.runtime.jobs.get(uuid)
    if row is None:
        raise _no_job(uuid)
    return str(row["status"])


def _no_job(uuid: UUID) -> ApiError:
    return ApiError(404, f"ERR_JOB_NOT_FOUND: there is no job {uuid}; list jobs with "
                    "POST /common/jobs", "uuid")


def _one(row: Any, message: str) -> JSONResponse:
    return JSONResponse({"data": job_dict(row), "success": True, "message": message})


def encode_cursor(last_id: int) -> str:
    """An opaque cursor continuing after the job with id `last_id`."""
    return base64.urlsafe_b64encode(CURSOR_TAG + str(last_id).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id a cursor continues before, or ApiError naming `cursor`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        if raw.startswith(CURSOR_TAG):
            value = int(raw[len(CURSOR_TAG):].decode("ascii"))
            if 0 < value <= 2**63 - 1:
                return value
    except (binascii.Error, ValueError, UnicodeError):
        pass
    raise ApiError(400, "ERR_INVALID_CURSOR: 'cursor' is not one this API returned; pass the "
                   "previous page's next_cursor unchanged, or leave it out for the first page",
                   "cursor")
