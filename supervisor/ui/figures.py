"""The figures the overview and processes pages show: `supervisor status`'s report, and more."""

from __future__ import annotations

import time
from typing import Any

from fastapi import Request

from supervisor.api.context import RuntimeLike
from supervisor.cluster.report import build_report
from supervisor.store.dashboard import DashboardStore
from supervisor.store.nodes import NodeStore

THROUGHPUT_CACHE_SECONDS = 10.0  # the chart polls; the scan behind it runs at most this often
REPORT_CACHE_SECONDS = 1.0  # many open tabs polling every 2 s share one count of the jobs
# Unfinished jobs are counted from partial indexes at every refresh; completed ones (the bulk
# of history, a whole-table count) at most this often.
COMPLETED_CACHE_SECONDS = 10.0
TERMINAL = frozenset({"completed", "cancelled", "dead"})


def runtime_of(request: Request) -> RuntimeLike:
    """The runtime the API app serves."""
    runtime: RuntimeLike = request.app.state.ctx.runtime
    return runtime


def dashboard_store(request: Request) -> DashboardStore:
    """The dashboard's read-only store."""
    store: DashboardStore = request.app.state.ui_store
    return store


async def status_report(request: Request, *, show_all: bool = False) -> dict[str, Any]:
    """The same report `supervisor status --json` prints, from this app's database."""
    cache: dict[bool, tuple[float, dict[str, Any]]] = request.app.state.ui_reports
    now = time.monotonic()
    hit = cache.get(show_all)
    if hit is not None and hit[0] > now:
        return hit[1]
    report = await _read_report(request, show_all)
    cache[show_all] = (now + REPORT_CACHE_SECONDS, report)
    return report


async def _read_report(request: Request, show_all: bool) -> dict[str, Any]:
    rt = runtime_of(request)
    nodes = await NodeStore(rt.pool).list()
    counts = [dict(r) for r in await rt.jobs.unfinished_counts()] + await _completed(request)
    oldest = await rt.jobs.oldest_ready_age()
    return build_report([dict(r) for r in nodes], counts, oldest,
                        stale_seconds=rt.config.node_stale_seconds, show_all=show_all)


async def _completed(request: Request) -> list[dict[str, Any]]:
    """(job_type, 'completed', n) rows, from a whole-table count made at most every 10 s."""
    state = request.app.state
    cached = getattr(state, "ui_completed", None)
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        rows: list[dict[str, Any]] = cached[1]
        return rows
    rows = [dict(r) for r in await runtime_of(request).jobs.counts()
            if r["status"] == "completed"]
    state.ui_completed = (now + COMPLETED_CACHE_SECONDS, rows)
    return rows


def overview(report: dict[str, Any]) -> dict[str, Any]:
    """What the overview adds up from the report: queues, stalls."""
    alive = [p for p in report["processes"] if p["state"] == "alive"]
    queued = sum(v["queued"] for p in alive for v in p["lanes"].values())
    running = sum(v["running"] for p in alive for v in p["lanes"].values())
    stalled = [(p, name, p["progress_age"].get(name)) for p in alive for name in p["stalled"]]
    per_minute = sum(p["per_minute"] or 0 for p in alive)
    return {"report": report, "jobs": report["jobs"], "queued": queued, "running": running,
            "stalled": stalled, "per_minute": per_minute}


async def throughput(request: Request) -> dict[str, list[int]]:
    """Completed and failed jobs per minute over the last hour, cached briefly."""
    state = request.app.state
    cached = getattr(state, "ui_throughput", None)
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        result: dict[str, list[int]] = cached[1]
        return result
    rows = await dashboard_store(request).throughput()
    result = {"minutes": [r[0] for r in rows], "completed": [r[1] for r in rows],
              "failed": [r[2] for r in rows]}
    state.ui_throughput = (now + THROUGHPUT_CACHE_SECONDS, result)
    return result
