"""Reading the dashboard's urlencoded forms, and the checks every change goes through."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs

from fastapi import Request

from supervisor.ui.errors import UiError
from supervisor.ui.session import Session, check_csrf, check_writer, viewer

MAX_FORM_BYTES = 64 * 1024  # a bulk selection of 100 uuids is under 5 KB


@dataclass(frozen=True)
class Change:
    """A state-changing request that passed the session, CSRF and key-kind checks."""

    session: Session
    form: dict[str, list[str]]

    def first(self, name: str, default: str = "") -> str:
        """The first value of a form field."""
        return (self.form.get(name) or [default])[0]


async def read_form(request: Request) -> dict[str, list[str]]:
    """The urlencoded body as {field: values}; 400/413 pages for anything else."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise UiError(413, "Form too large", f"The form is over {MAX_FORM_BYTES} bytes; select "
                      "fewer jobs at a time.")
    try:
        return parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=500)
    except (UnicodeDecodeError, ValueError):
        raise UiError(400, "Bad form", "The form could not be read; reload the page and "
                      "try again.") from None


async def change(request: Request) -> Change:
    """Session, form, CSRF token and key kind of a state-changing request, all checked."""
    session = await viewer(request)
    form = await read_form(request)
    check_csrf(session, form, request)
    check_writer(session)
    return Change(session, form)
