"""Logging in with an API key, logging out, and the landing page at /."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from supervisor.store.api_keys import ApiKeyStore
from supervisor.ui.errors import UiError
from supervisor.ui.forms import read_form
from supervisor.ui.render import render
from supervisor.ui.session import (
    COOKIE,
    LOGIN_COOKIE,
    LOGIN_SECONDS,
    SESSION_SECONDS,
    Session,
    check_csrf,
    clear_cookie,
    sessions_of,
    set_cookie,
    viewer,
)

router = APIRouter(include_in_schema=False)
root = APIRouter(include_in_schema=False)


def _next(value: str) -> str:
    """Where to go after logging in: a dashboard path, never another site."""
    if value.startswith("/ui") and not value.startswith("//") and "\\" not in value:
        return value
    return "/ui"


async def _form(request: Request, status: int = 200, refused: bool = False) -> Response:
    cookie, token = await sessions_of(request).login_token()
    response = render(request, "login.html", status, login_token=token, refused=refused,
                      next=_next(request.query_params.get("next", "/ui")))
    set_cookie(request, response, LOGIN_COOKIE, cookie, LOGIN_SECONDS)
    return response


@router.get("/login")
async def login_page(request: Request) -> Response:
    """The login form."""
    return await _form(request)


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the key; on success a session cookie and off to the dashboard."""
    form = await read_form(request)
    sessions = sessions_of(request)
    token = (form.get("csrf") or [""])[0]
    if not await sessions.check_login(request.cookies.get(LOGIN_COOKIE), token):
        raise UiError(403, "Request refused", "The login form's CSRF token is missing or "
                      "stale. Open the login page again and retry.", login=True)
    key = (form.get("key") or [""])[0].strip()
    info = await ApiKeyStore(request.app.state.ctx.runtime.pool).identify(key) if key else None
    if info is None:
        return await _form(request, 401, refused=True)
    value, _ = await sessions.issue(info)
    response = RedirectResponse(_next((form.get("next") or ["/ui"])[0]), status_code=303)
    set_cookie(request, response, COOKIE, value, SESSION_SECONDS)
    clear_cookie(request, response, LOGIN_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request, session: Session = Depends(viewer)) -> Response:
    """End the session (its cookie is removed)."""
    check_csrf(session, await read_form(request), request)
    response = RedirectResponse("/ui/login?bye=1", status_code=303)
    clear_cookie(request, response, COOKIE)
    return response


@root.get("/")
async def landing(request: Request) -> HTMLResponse:
    """What this server offers: the dashboard, the API docs, the probes."""
    return render(request, "landing.html")
