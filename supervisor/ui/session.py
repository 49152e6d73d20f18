"""Dashboard sessions: a signed cookie naming the API key that logged in, and its CSRF token."""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from supervisor.store.api_keys import ApiKeyStore, KeyInfo
from supervisor.ui.errors import UiError

COOKIE = "sv_session"
LOGIN_COOKIE = "sv_login"  # the CSRF token of the login form, before there is a session
COOKIE_PATH = "/ui"
SESSION_SECONDS = 12 * 3600  # a stale cookie past this is refused with a page saying so
LOGIN_SECONDS = 3600
KEY_CACHE_SECONDS = 5.0  # a revoked key's sessions end within this long, like the API's cache


@dataclass(frozen=True)
class Session:
    """Who is looking at the dashboard: the key's id and kind, and the CSRF token."""

    key_id: int
    read_only: bool
    csrf: str


class Sessions:
    """Signs and checks session cookies with the database's UI secret."""

    def __init__(self, keys: ApiKeyStore) -> None:
        self.keys = keys
        self._signer: URLSafeTimedSerializer | None = None
        self._live: dict[int, tuple[float, KeyInfo | None]] = {}

    async def signer(self) -> URLSafeTimedSerializer:
        """The serializer keyed with the secret the migration made (read once)."""
        if self._signer is None:
            self._signer = URLSafeTimedSerializer(await self.keys.ui_secret(), "supervisor-ui")
        return self._signer

    async def issue(self, info: KeyInfo) -> tuple[str, Session]:
        """A cookie value for a session of the key `info`."""
        session = Session(info.id, info.read_only, secrets.token_urlsafe(24))
        value = (await self.signer()).dumps({"k": info.id, "c": session.csrf}, salt="session")
        return value, session

    async def login_token(self) -> tuple[str, str]:
        """(cookie value, form token) guarding the login form itself."""
        token = secrets.token_urlsafe(24)
        return (await self.signer()).dumps(token, salt="login"), token

    async def check_login(self, cookie: str | None, token: str) -> bool:
        """True if the login form's token matches the cookie it was served with."""
        try:
            expected = (await self.signer()).loads(cookie or "", salt="login",
                                                   max_age=LOGIN_SECONDS)
        except BadSignature:
            return False
        return isinstance(expected, str) and hmac.compare_digest(expected, token)

    async def read(self, cookie: str) -> Session:
        """The session a cookie holds; UiError 401 if forged, stale or its key revoked."""
        try:
            data: Any = (await self.signer()).loads(cookie, salt="session",
                                                    max_age=SESSION_SECONDS)
        except SignatureExpired:
            raise _expired("it is more than 12 hours old") from None
        except BadSignature:
            raise _expired("it was not made by this dashboard (a changed or forged "
                           "cookie)") from None
        if not isinstance(data, dict) or not isinstance(data.get("k"), int):
            raise _expired("it holds no API key")
        info = await self._key(data["k"])
        if info is None:
            raise _expired("the API key it was made with has been revoked")
        return Session(info.id, info.read_only, str(data.get("c", "")))

    async def _key(self, key_id: int) -> KeyInfo | None:
        now = time.monotonic()
        hit = self._live.get(key_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        info = await self.keys.live(key_id)
        if len(self._live) > 1024:
            self._live.clear()
        self._live[key_id] = (now + KEY_CACHE_SECONDS, info)
        return info


def _expired(why: str) -> UiError:
    return UiError(401, "Your session is not valid", f"The session cookie was refused: {why}. "
                   "Log in again with an API key.", login=True)


def set_cookie(request: Request, response: Response, name: str, value: str,
               max_age: int) -> None:
    """Set a dashboard cookie: HttpOnly, SameSite=Strict, Secure when served over TLS."""
    response.set_cookie(name, value, max_age=max_age, path=COOKIE_PATH, httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")


def clear_cookie(request: Request, response: Response, name: str) -> None:
    """Remove a dashboard cookie."""
    response.delete_cookie(name, path=COOKIE_PATH, httponly=True, samesite="strict",
                           secure=request.url.scheme == "https")


def sessions_of(request: Request) -> Sessions:
    """The app's session signer."""
    sessions: Sessions = request.app.state.ui_sessions
    return sessions


async def viewer(request: Request) -> Session:
    """The logged-in session (any key kind); a GET without a cookie goes to the login page."""
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        raise UiError(401, "Please log in", "The dashboard needs an API key to show this "
                      "page.", login=True, redirect=request.method == "GET")
    session = await sessions_of(request).read(cookie)
    request.state.ui_session = session
    return session


def check_csrf(session: Session, form: dict[str, list[str]], request: Request) -> None:
    """Refuse a state-changing request whose CSRF token is missing or wrong (403)."""
    sent = request.headers.get("x-csrf-token") or (form.get("csrf") or [""])[0]
    if not sent or not hmac.compare_digest(sent, session.csrf):
        raise UiError(403, "Request refused", "The form's CSRF token is missing or does not "
                      "match your session. Reload the page and try again.")


def check_writer(session: Session) -> None:
    """Refuse a change by a read-only key (403)."""
    if session.read_only:
        raise UiError(403, "Read-only key", "You are logged in with a read-only API key: it "
                      "sees everything and changes nothing. Log in with a key made by "
                      "`supervisor apikey create NAME` to change jobs and schedules.")
