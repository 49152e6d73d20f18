"""The HTTP API as an ASGI app: Jobs API, schedules, operations endpoints, OpenAPI and docs."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from pydantic import BaseModel

from supervisor.api import bulk, jobs, ops, schedules
from supervisor.api.auth import ApiContext, KeyChecker
from supervisor.api.batcher import CreateBatcher
from supervisor.api.context import RuntimeLike
from supervisor.api.errors import install_handlers
from supervisor.api.guard import Guard
from supervisor.api.models import BulkChange, CreateJob, ListJobs
from supervisor.api.openapi import build_openapi
from supervisor.store.api_keys import ApiKeyStore
from supervisor.ui.mount import install_ui
from supervisor.ui.pages import Page

MAX_BODY_BYTES = 1024 * 1024  # job data is a pointer to work (an S3 key, a query), not the data

DESCRIPTION = """\
Create, list, inspect, cancel and retry background jobs, and manage cron schedules.

Every `/common/...` endpoint needs an `X-API-Key` header with a key made by
`supervisor apikey create NAME`. Every error answers `{"error": "ERR_...: what and how to fix",
"success": false}`; errors beyond the Jobs API document also carry `field`.
`/healthz`, `/readyz` and `/metrics` are open, for probes and Prometheus.
"""


def family_pages(runtime: RuntimeLike) -> list[Page]:
    """Every family's dashboard pages; anything else in `pages` is refused, naming the family."""
    found: list[Page] = []
    for lf in runtime.families:
        for page in lf.family.pages:
            if not isinstance(page, Page):
                raise TypeError(f"family {lf.family.name!r} lists {page!r} in pages; each must "
                                "be a supervisor.ui.Page")
            found.append(page)
    return found


def create_app(runtime: RuntimeLike, *, max_body: int = MAX_BODY_BYTES,
               key_cache_seconds: float | None = None, pages: Sequence[Page] = ()) -> FastAPI:
    """The API app serving `runtime` (the daemon's Runtime or a StandaloneRuntime)."""
    app = FastAPI(title="supervisor", version="1.0", description=DESCRIPTION,
                  openapi_tags=[{"name": "jobs"}, {"name": "schedules"}, {"name": "operations"}])
    keys = KeyChecker(ApiKeyStore(runtime.pool))
    if key_cache_seconds is not None:
        keys.ttl = key_cache_seconds
    app.state.ctx = ApiContext(runtime, keys, schedules.service_for(runtime),
                               CreateBatcher(runtime.jobs))
    app.state.figures = ops.DatabaseFigures()
    app.state.metrics_registry = CollectorRegistry(auto_describe=True)
    app.state.metrics_registry.register(app.state.figures)
    app.state.metrics_page = ops.RenderedPage()
    app.include_router(bulk.router)  # before jobs: /cancel and /retry are not uuids
    app.include_router(jobs.router)
    app.include_router(schedules.router)
    app.include_router(ops.router)
    for lf in runtime.families:
        for router in lf.family.routers:
            app.include_router(router)
    install_handlers(app)
    # The dashboard at /ui, with each family's pages (after the handlers: it wraps them).
    install_ui(app, runtime, [*family_pages(runtime), *pages])
    app.add_middleware(Guard, max_body=max_body)
    models: list[type[BaseModel]] = [CreateJob, ListJobs, BulkChange, *schedules.MODELS]
    app.openapi = lambda: build_openapi(app, models, runtime.registry.names())  # type: ignore[method-assign]
    return app
