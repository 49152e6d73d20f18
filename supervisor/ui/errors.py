"""What a dashboard page refuses: a status, a title and a sentence saying what to do."""

from __future__ import annotations


class UiError(Exception):
    """A refusal shown as an HTML page (4xx), never a traceback."""

    def __init__(self, status: int, title: str, message: str, *, login: bool = False,
                 redirect: bool = False, hint: str | None = None,
                 back: tuple[str, str] = ("/ui", "Back to the overview")) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message
        self.login = login  # offer the login form
        self.redirect = redirect  # a plain GET without a session: send it to the login page
        self.hint = hint  # a command to try, shown as code
        self.back = back  # (href, text) of the link out of the error
