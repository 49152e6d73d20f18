"""Operations endpoints: liveness, readiness, Prometheus metrics (keyed if METRICS_REQUIRE_KEY)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import anyio
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from supervisor.api.auth import ApiContext, authorized
from supervisor.states import ALL_STATUSES
from supervisor.store.db import is_transient
from supervisor.store.jobs import JobStore

log = logging.getLogger("supervisor.api")
router = APIRouter(tags=["operations"])
DB_TIMEOUT = 2.0  # a readiness probe must answer before the prober gives up
REFRESH_SECONDS = 10.0  # job gauges are read at most this often, however many scrape
RENDER_SECONDS = 1.0  # scrapes within a second of each other get the same body
GAUGED = tuple(s for s in ALL_STATUSES if s != "completed")
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


class DatabaseFigures(Collector):
    """Job gauges read from the database at most every `every` seconds, whoever scrapes.

    Scrapes are served the last values; when they are older than `every`, the first scrape
    reads them again (one cheap query over the partial indexes) and concurrent scrapes wait for
    that one read instead of each running their own.
    """

    def __init__(self, every: float = REFRESH_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.counts: list[tuple[str, str, int]] = []
        self.oldest_ready: float | None = None
        self.every = every
        self.clock = clock
        self.read_at: float | None = None  # when the values were last read successfully
        self._tried_at: float | None = None
        self._lock = asyncio.Lock()

    async def refresh(self, jobs: JobStore) -> None:
        """Read the figures if they are due (collect() cannot await, so scrapes call this)."""
        async with self._lock:
            if self._tried_at is not None and self.clock() - self._tried_at < self.every:
                return
            self._tried_at = self.clock()
            try:
                with anyio.fail_after(DB_TIMEOUT):
                    rows = await jobs.unfinished_counts()
                    oldest = await jobs.oldest_ready_age()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                # The last values stay; their age gauge shows they are getting old.
                log.warning("could not read the job gauges", extra={
                    "action": "metrics_refresh", "error": f"{type(exc).__name__}: {exc}"})
                return
            self.counts = [(r["job_type"], r["status"], int(r["n"])) for r in rows]
            self.oldest_ready = oldest
            self.read_at = self.clock()

    def collect(self) -> Iterator[Metric]:
        """The last read figures as metric families."""
        jobs = GaugeMetricFamily(
            "supervisor_jobs", "Jobs in the database by type and state ('completed' is left "
            "out: see supervisor_jobs_finished_total)", labels=["job_type", "status"])
        present = {(t, s) for t, s, _ in self.counts}
        for job_type, status, n in self.counts:
            jobs.add_metric([job_type, status], n)
        for job_type in {t for t, _ in present}:
            for status in GAUGED:  # zeros too, so rate() and alerts see every series
                if (job_type, status) not in present:
                    jobs.add_metric([job_type, status], 0)
        yield jobs
        yield GaugeMetricFamily(
            "supervisor_oldest_ready_job_age_seconds",
            "How long the oldest job ready to run has waited (0 when none)",
            value=self.oldest_ready or 0.0)
        if self.read_at is not None:
            yield GaugeMetricFamily(
                "supervisor_job_gauges_age_seconds",
                "How old the values of supervisor_jobs and the oldest-ready age are",
                value=round(self.clock() - self.read_at, 3))


class RenderedPage:
    """The last /metrics body, reused for `every` seconds: rendering takes CPU the API needs."""

    def __init__(self, every: float = RENDER_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self.clock = clock
        self._body: bytes | None = None
        self._at = 0.0
        self._lock = asyncio.Lock()

    async def get(self, render: Callable[[], Awaitable[bytes]]) -> bytes:
        """The body, rendered again only when older than `every` (one render at a time)."""
        async with self._lock:
            if self._body is None or self.clock() - self._at >= self.every:
                self._body = await render()
                self._at = self.clock()
            return self._body


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
    if ctx.runtime.config.metrics_require_key:
        await authorized(request)
    figures: DatabaseFigures = request.app.state.figures
    registry: CollectorRegistry = request.app.state.metrics_registry
    page: RenderedPage = request.app.state.metrics_page

    async def render() -> bytes:
        await figures.refresh(ctx.runtime.jobs)
        return generate_latest(REGISTRY) + generate_latest(registry)

    return Response(await page.get(render), media_type=PROMETHEUS_TEXT)
