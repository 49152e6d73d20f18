"""The dashboard's page registry: what the nav links to, in order; families add their own."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from fastapi import APIRouter

_PATH = re.compile(r"^(/[a-z0-9][a-z0-9_-]*)*$")
RESERVED = frozenset({"/login", "/logout", "/static"})


@dataclass(frozen=True)
class Page:
    """A dashboard page: nav title, path under /ui, the router serving it, nav position.

    The router's routes are relative to /ui (the page itself at `path`, anything else under
    it); they render with `supervisor.ui.render` after `Depends(supervisor.ui.viewer)`.
    `templates` names a package holding a `templates/` folder for those templates.
    """

    title: str
    path: str
    router: APIRouter
    order: int = 100
    templates: str | None = None

    def __post_init__(self) -> None:
        if not self.title.strip():
            raise ValueError("a dashboard page needs a title")
        if not _PATH.fullmatch(self.path) or self.path in RESERVED:
            raise ValueError(f"dashboard page path {self.path!r} must be '' or like '/contacts' "
                             f"(lower case, a-z 0-9 _ -), and not one of {sorted(RESERVED)}")

    @property
    def href(self) -> str:
        """The page's URL."""
        return "/ui" + self.path


def arrange(builtin: Iterable[Page], extra: Iterable[Page]) -> list[Page]:
    """Every page in nav order; two pages on one path refuse to start, naming both."""
    pages = [*builtin, *extra]
    seen: dict[str, Page] = {}
    for page in pages:
        if page.path in seen:
            raise ValueError(f"dashboard pages {seen[page.path].title!r} and {page.title!r} "
                             f"both use the path /ui{page.path}")
        seen[page.path] = page
    return sorted(pages, key=lambda p: (p.order, p.title))
