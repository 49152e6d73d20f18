"""The jobs pages: a filtered, paged list with bulk actions, and each job's own page."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from supervisor.api.errors import ApiError
from supervisor.api.jobs import decode_cursor, encode_cursor
from supervisor.states import ALL_STATUSES
from supervisor.store.bulk import JobFilter, cancel_matching, retry_matching
from supervisor.ui import figures
from supervisor.ui.errors import UiError
from supervisor.ui.forms import Change, change
from supervisor.ui.pages import Page
from supervisor.ui.render import render
from supervisor.ui.session import Session, viewer

router = APIRouter(include_in_schema=False)
BACK = ("/ui/jobs", "Back to the jobs")
PAGE_SIZE = 50
BULK_MAX = 100  # a page's worth of jobs, at most, per bulk action
_UUID_PART = re.compile(r"[0-9a-f-]{1,36}")
CANCELLABLE = frozenset({"open", "in_queue", "processing", "failed", "retry_in_queued"})
RETRYABLE = frozenset({"failed", "dead", "cancelled"})


def _filters(request: Request) -> dict[str, Any]:
    """The list's filters from the query string; 400 pages name what is wrong."""
    params = request.query_params
    states = [s for s in params.getlist("state") if s]
    unknown = [s for s in states if s not in ALL_STATUSES]
    if unknown:
        raise UiError(400, "Unknown job state", f"{unknown[0]!r:.60} is not a job state. "
                      f"Filter by any of: {', '.join(ALL_STATUSES)}.", back=BACK)
    part = params.get("q", "").strip().lower()
    if part and not _UUID_PART.fullmatch(part):
        raise UiError(400, "Bad uuid search", "The search matches part of a job's uuid, so it "
                      "may hold only 0-9, a-f and '-' (at most 36 characters).", back=BACK)
    job_type = params.get("type", "").strip()[:200]
    cursor = params.get("cursor", "")
    try:
        before = decode_cursor(cursor) if cursor else None
    except ApiError:
        raise UiError(400, "Bad page link", "The 'cursor' in this link is not one the "
                      "dashboard made. Go back to the first page of the list.", back=BACK) from None
    return {"states": states, "q": part, "type": job_type, "before": before}


@router.get("/jobs")
async def jobs_page(request: Request, _: Session = Depends(viewer)) -> HTMLResponse:
    """Newest jobs first, filtered by state, type and part of the uuid, a page at a time."""
    f = _filters(request)
    rows = await figures.dashboard_store(request).list_jobs(
        statuses=f["states"], job_type=f["type"] or None, uuid_part=f["q"] or None,
        before_id=f["before"], limit=PAGE_SIZE)
    base = [("state", s) for s in f["states"]] + [
        (k, f[k]) for k in ("type", "q") if f[k]]
    following = (f"/ui/jobs?{urlencode([*base, ('cursor', encode_cursor(rows[-1]['id']))])}"
                 if len(rows) == PAGE_SIZE else None)
    filtered = bool(base) or f["before"] is not None
    return render(request, "jobs.html", rows=rows, f=f, statuses=ALL_STATUSES,
                  types=figures.runtime_of(request).registry.names(), following=following,
                  first=f"/ui/jobs?{urlencode(base)}",
                  filtered=filtered, here=str(request.url.path) + (
                      f"?{request.url.query}" if request.url.query else ""),
                  notice=_notice(request), cancellable=CANCELLABLE, retryable=RETRYABLE)


async def _job(request: Request, uuid: str) -> asyncpg.Record:
    try:
        parsed = UUID(uuid)
    except ValueError:
        raise _unknown(uuid) from None
    row = await figures.runtime_of(request).jobs.get(parsed)
    if row is None:
        raise _unknown(uuid)
    return row


def _unknown(uuid: str) -> UiError:
    return UiError(404, "No such job", f"There is no job {uuid!r:.80}. It may be a typo, or "
                   "the job was removed.", hint="supervisor job list", back=BACK)


def job_view(row: asyncpg.Record) -> dict[str, Any]:
    """What a job's page shows, split out of the row: errors, the rest of the response."""
    response = dict(row["job_response"] or {})
    errors = response.pop("runtime_errors", None) or []
    tracebacks = response.pop("tracebacks", None)
    if isinstance(tracebacks, list):  # each a multi-line string: shown as text, not JSON
        tracebacks = "\n\n".join(str(t) for t in tracebacks)
    progress = row["progress"] or None
    percent = None
    if progress and isinstance(progress.get("total"), int | float) and progress["total"]:
        percent = max(0.0, min(100.0, 100.0 * float(progress.get("done") or 0)
                               / float(progress["total"])))
    started, finished = row["started_at"], row["finished_at"]
    return {"job": row, "errors": errors if isinstance(errors, list) else [errors],
            "tracebacks": tracebacks, "response": response, "progress": progress,
            "percent": percent, "live": row["status"] not in figures.TERMINAL,
            "duration": (finished - started).total_seconds() if started and finished else None,
            "cancellable": CANCELLABLE, "retryable": RETRYABLE, "shown_errors": ERRORS_SHOWN}


ERRORS_SHOWN = 10  # the newest errors; older ones are folded


@router.get("/jobs/{uuid}")
async def job_page(uuid: str, request: Request, _: Session = Depends(viewer)) -> HTMLResponse:
    """One job: data, response, errors, progress, attempts, timings, the process."""
    row = await _job(request, uuid)
    return render(request, "job.html", notice=_notice(request), **job_view(row))


@router.get("/jobs/{uuid}/live")
async def job_live(uuid: str, request: Request, _: Session = Depends(viewer)) -> HTMLResponse:
    """The changing part of a job's page, polled every 2 s until the job ends."""
    return render(request, "job_live.html", **job_view(await _job(request, uuid)))


def _notice(request: Request) -> str | None:
    """The message a redirect after an action asked for (fixed texts, numbers only)."""
    done = request.query_params.get("done", "")
    counts = [request.query_params.get(k, "") for k in ("n", "of")]
    n, of = (int(c) if c.isdigit() else 0 for c in counts)
    texts = {
        "cancel": "Job cancelled.", "retry": "Job re-opened: it runs again now.",
        "cancel_refused": "That job has ended already; only jobs that have not ended can be "
                          "cancelled.",
        "retry_refused": "Only failed, dead or cancelled jobs can be run again.",
        "bulk_cancel": f"Cancelled {n} of {of} selected jobs (the others had ended).",
        "bulk_retry": f"Re-opened {n} of {of} selected jobs (only failed, dead or cancelled "
                      "ones run again).",
        "none": "Select some jobs first.",
        "all_cancel": f"Cancelled {n} jobs matching the filters.",
        "all_retry": f"Re-opened {n} jobs matching the filters.",
        "all_refused": "Choose a state or a type first: changing every job at once is not "
                       "offered.",
    }
    return texts.get(done)


def _action(action: str, request: Request,
            ) -> Callable[[UUID], Awaitable[asyncpg.Record | None]]:
    jobs = figures.runtime_of(request).jobs
    if action == "cancel":
        return jobs.cancel
    if action == "retry":
        return jobs.retry_now
    raise UiError(400, "Unknown action", "The form asked for an action other than cancel or "
                  "retry; reload the page and try again.")


@router.post("/jobs/{uuid}/{action}")
async def job_action(uuid: str, action: str, request: Request,
                     _: Change = Depends(change)) -> RedirectResponse:
    """Cancel or retry one job, then back to its page."""
    row = await _job(request, uuid)
    done = await _action(action, request)(row["uuid"])
    code = action if done is not None else f"{action}_refused"
    return RedirectResponse(f"/ui/jobs/{row['uuid']}?done={code}", status_code=303)


@router.post("/jobs")
async def bulk_action(request: Request, ch: Change = Depends(change)) -> RedirectResponse:
    """Cancel or retry the selected jobs, then back to the list they were selected on."""
    act = _action(ch.first("action"), request)
    back = ch.first("back", "/ui/jobs")
    if not back.startswith("/ui/jobs") or "//" in back:
        back = "/ui/jobs"  # never redirect off the dashboard
    picked = list(dict.fromkeys(ch.form.get("uuid", [])))[:BULK_MAX]
    uuids = []
    for text in picked:
        try:
            uuids.append(UUID(text))
        except ValueError:
            raise _unknown(text) from None
    if not uuids:
        return RedirectResponse(_with(back, done="none"), status_code=303)
    # A selection is at most a page: one call per job (the filter-wide change is below).
    done = sum([await act(u) is not None for u in uuids])
    return RedirectResponse(_with(back, done=f"bulk_{ch.first('action')}", n=done,
                                  of=len(uuids)), status_code=303)


@router.post("/jobs/matching")
async def matching_action(request: Request, ch: Change = Depends(change)) -> RedirectResponse:
    """Cancel or retry every job matching the list's state and type filters (in batches)."""
    states = [s for s in ch.form.get("state", []) if s in ALL_STATUSES]
    job_type = ch.first("type").strip()[:200] or None
    kept = [("state", s) for s in states] + ([("type", job_type)] if job_type else [])
    back = f"/ui/jobs?{urlencode(kept)}"
    if not states and job_type is None:
        return RedirectResponse(_with(back, done="all_refused"), status_code=303)
    calls = {"cancel": cancel_matching, "retry": retry_matching}
    call = calls.get(ch.first("action"))
    if call is None:
        raise UiError(400, "Unknown action", "Jobs can be cancelled or retried.", back=BACK)
    count = await call(figures.runtime_of(request).jobs, JobFilter(states, job_type))
    return RedirectResponse(_with(back, done=f"all_{ch.first('action')}", n=count),
                            status_code=303)


def _with(url: str, **params: Any) -> str:
    """`url` with its old notice replaced by `params`."""
    path, _, query = url.partition("?")
    kept = [(k, v) for k, v in parse_qsl(query) if k not in ("done", "n", "of")]
    return f"{path}?{urlencode([*kept, *params.items()])}"


page = Page("Jobs", "/jobs", router, order=20)
