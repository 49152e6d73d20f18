"""Operations endpoints: liveness, readiness and Prometheus metrics (no API key needed)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import anyio
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from supervisor.api.auth import ApiContext
from supervisor.states import ALL_STATUSES

log = logging.getLogger("supervisor.api")
router = APIRouter(tags=["operations"])
DB_TIMEOUT = 2.0  # a readiness probe must answer before the prober gives up
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


class DatabaseFigures(Collector):
    """Gauges read from the database at scrape time: jobs by state and type, oldest ready age."""

    def __init__(self) -> None:
        self.counts: list[tuple[str, str, int]] = []
        self.oldest_ready: float | None = None

    async def refresh(self, ctx: ApiContext) -> None:
        """Read the figures; the scrape then renders them (collect() cannot await)."""
        rows = await ctx.runtime.jobs.counts()
        self.counts = [(r["job_type"], r["status"], int(r["n"])) for r in rows]
        self.oldest_ready = await ctx.runtime.jobs.oldest_ready_age()

    def collect(self) -> Iterator[Metric]:
        """The last refreshed figures as metric families."""
        jobs = GaugeMetricFamily("supervisor_jobs", "Jobs in the database by type and state",
                                 labels=["job_type", "status"])
        present = {(t, s) for t, s, _ in self.counts}
        for job_type, status, n in self.counts:
            jobs.add_metric([job_type, status], n)
        for job_type in {t for t, _ in present}:
            for status in ALL_STATUSES:  # zeros too, so rate() and alerts see every series
                if (job_type, status) not in present:
                    jobs.add_metric([job_type, status], 0)
        yield jobs
        yield GaugeMetricFamily(
            "supervisor_oldest_ready_job_age_seconds",
            "How long the oldest job ready to run has waited (0 when none)",
            value=self.oldest_ready or 0.0)


@router.get("/healthz", summary="Liveness")
async def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness", responses={503: {"description": "Not ready"}})
async def readyz(request: Request) -> JSONResponse:
    """Ready to take work: not draining, and the database answers."""
    ctx: ApiContext = request.app.state.ctx
    rt = ctx.runtime
    if rt.draining:
        return JSONResponse({"status": "draining"}, status_code=503)
    try:
        with anyio.fail_after(DB_TIMEOUT):
            await rt.pool.fetchval("SELECT 1")
    except Exception as exc:
        # The detail can name hosts and ports: it goes to the log, the prober gets the gist.
        log.warning("readiness check: the database did not answer", extra={
            "action": "readyz_db", "error": f"{type(exc).__name__}: {exc}"})
        return JSONResponse({"status": "database unavailable",
                             "error": "ERR_DATABASE_UNAVAILABLE: the database did not answer "
                             f"within {DB_TIMEOUT:g} s"}, status_code=503)
    return JSONResponse({"status": "ready", "services": _services(rt.lanes)})


def _services(lanes: dict[str, Any]) -> dict[str, dict[str, int]]:
    # The api service starts last, so every service before it has reported itself started.
    return {name: {"queued": lane.depth(), "running": lane.running()}
            for name, lane in lanes.items()}


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    """Process counters and histograms plus database gauges, in Prometheus text format."""
    ctx: ApiContext = request.app.state.ctx
    figures: DatabaseFigures = request.app.state.figures
    registry: CollectorRegistry = request.app.state.metrics_registry
    await figures.refresh(ctx)
    body = generate_latest(REGISTRY) + generate_latest(registry)
    return Response(body, media_type=PROMETHEUS_TEXT)
