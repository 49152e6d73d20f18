"""Mounting the dashboard on the API app: pages, static files, sessions, HTML error pages."""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from supervisor.api.context import RuntimeLike
from supervisor.store.api_keys import ApiKeyStore
from supervisor.store.dashboard import DashboardStore
from supervisor.ui import jobs, login, overview, processes, schedules
from supervisor.ui.errors import UiError
from supervisor.ui.pages import Page, arrange
from supervisor.ui.render import SecurityHeaders, make_environment, render
from supervisor.ui.session import Sessions

BUILTIN = (overview.page, jobs.page, schedules.page, processes.page)
Handler = Callable[[Request, Any], Response | Awaitable[Response]]


def _is_ui(request: Request) -> bool:
    path = request.url.path
    return path == "/" or path == "/ui" or path.startswith("/ui/")


async def _ui_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, UiError)
    if exc.redirect:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/ui/login?{urlencode({'next': target})}", status_code=303)
    return render(request, "error.html", exc.status, error=exc)


def _as_page(previous: Handler) -> Handler:
    """The API's handler for /common/...; an HTML page saying the same for dashboard paths."""

    async def handler(request: Request, exc: Any) -> Response:
        response = previous(request, exc)
        if inspect.isawaitable(response):
            response = await response
        if not _is_ui(request):
            return response
        status = response.status_code
        try:
            message = str(json.loads(bytes(response.body))["error"])
        except (AttributeError, ValueError, KeyError, TypeError):
            message = "The request could not be served."
        if status == 404:
            message = f"There is no dashboard page {request.url.path!r:.200}."
        title = {404: "Page not found", 405: "Not allowed", 503: "Database unavailable"}.get(
            status, "Request refused")
        return render(request, "error.html", status, error=UiError(status, title, message))

    return handler


def install_ui(app: FastAPI, runtime: RuntimeLike, pages: Sequence[Page] = ()) -> None:
    """Serve the dashboard on `app`: built-in pages, then `pages` (families'), in nav order."""
    every = arrange(BUILTIN, pages)
    app.state.ui_pages = every
    app.state.ui_env = make_environment([p.templates for p in every if p.templates])
    app.state.ui_sessions = Sessions(ApiKeyStore(runtime.pool))
    app.state.ui_store = DashboardStore(runtime.pool)
    app.state.ui_reports = {}
    static = Path(str(resources.files("supervisor.ui") / "static"))
    app.mount("/ui/static", StaticFiles(directory=static), name="ui-static")
    app.include_router(login.router, prefix="/ui")
    app.include_router(login.root)
    for page in every:
        app.include_router(page.router, prefix="/ui")
    for exc_type, previous in list(app.exception_handlers.items()):
        if isinstance(exc_type, type):  # the API's handlers, installed before the UI
            app.exception_handlers[exc_type] = _as_page(previous)
    app.add_exception_handler(UiError, _ui_error)
    app.add_middleware(SecurityHeaders)

