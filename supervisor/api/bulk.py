"""Bulk cancel and retry: every job matching a filter of states, type and creation time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic_core import ErrorDetails

from supervisor.api.auth import ApiContext, authorized
from supervisor.api.body import FieldRule, parse_body
from supervisor.api.errors import ApiError
from supervisor.api.models import BulkChange, BulkDone
from supervisor.api.openapi import ERRORS, body_of
from supervisor.states import ALL_STATUSES
from supervisor.store.bulk import JobFilter, cancel_matching, retry_matching
from supervisor.store.jobs import JobStore

router = APIRouter(prefix="/common/jobs", tags=["jobs"])


def _status_rule(err: ErrorDetails) -> str:
    return (f"ERR_INVALID_STATUS: 'status' must be a non-empty list of job states from: "
            f"{', '.join(ALL_STATUSES)} (got {err.get('input')!r:.60})")


def _created_before_rule(err: ErrorDetails) -> str:
    return ("ERR_INVALID_CREATED_BEFORE: 'created_before' must be an ISO 8601 time with a time "
            f"zone, e.g. 2026-01-31T00:00:00Z (got {err.get('input')!r:.60})")


RULES: dict[str, FieldRule] = {"status": _status_rule, "created_before": _created_before_rule}
Change = Callable[[JobStore, JobFilter], Awaitable[int]]


async def _bulk(request: Request, ctx: ApiContext, change: Change, verb: str) -> JSONResponse:
    req = await parse_body(request, BulkChange, RULES)
    if req.status is None and req.job_type is None and req.created_before is None:
        raise ApiError(400, f"ERR_EMPTY_FILTER: say which jobs to {verb} with 'status', "
                       "'job_type' or 'created_before'; for every job in some states, list "
                       "them in 'status'", "status")
    flt = JobFilter([s.value for s in req.status or []], req.job_type, req.created_before)
    count = await change(ctx.runtime.jobs, flt)
    done = "cancelled" if verb == "cancel" else "re-opened"
    return JSONResponse({"success": True, "count": count, "message": f"{count} job(s) {done}"})


@router.post("/cancel", response_model=BulkDone, responses=ERRORS,
             openapi_extra=body_of(BulkChange), summary="Cancel every matching job")
async def cancel_jobs(request: Request, ctx: ApiContext = Depends(authorized)) -> JSONResponse:
    """Cancel every matching job that has not ended; running ones are interrupted."""
    return await _bulk(request, ctx, cancel_matching, "cancel")


@router.post("/retry", response_model=BulkDone, responses=ERRORS,
             openapi_extra=body_of(BulkChange), summary="Re-run every matching job now")
async def retry_jobs(request: Request, ctx: ApiContext = Depends(authorized)) -> JSONResponse:
    """Re-open every matching failed, dead or cancelled job at once, retries renewed."""
    return await _bulk(request, ctx, retry_matching, "retry")
