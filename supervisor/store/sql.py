"""Named SQL queries, read once from the .sql files beside this module."""

from __future__ import annotations

import re
from importlib import resources

_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)


def parse_queries(text: str) -> dict[str, str]:
    """Split a file of `-- name: x` blocks into {name: sql}."""
    parts = _NAME.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in queries:
            raise ValueError(f"query {name!r} is defined twice")
        queries[name] = body.strip()
    return queries


class Queries:
    """The named queries of every .sql file in one package folder, read on first use."""

    def __init__(self, package: str, folder: str = "") -> None:
        self.package = package
        self.folder = folder
        self._found: dict[str, str] | None = None

    def all(self) -> dict[str, str]:
        """{name: sql} of every query in the folder."""
        if self._found is None:
            found: dict[str, str] = {}
            where = resources.files(self.package)
            where = where / self.folder if self.folder else where
            for entry in sorted(where.iterdir(), key=lambda e: e.name):
                if entry.name.endswith(".sql"):
                    for name, sql in parse_queries(entry.read_text()).items():
                        if name in found:
                            raise ValueError(f"query {name!r} is defined in two files of "
                                             f"{self.package}")
                        found[name] = sql
            self._found = found
        return self._found

    def q(self, name: str) -> str:
        """The SQL text of one named query."""
        return self.all()[name]


RUNTIME = Queries("supervisor.store", "sql")


def queries() -> dict[str, str]:
    """Every named query of the runtime (store/sql)."""
    return RUNTIME.all()


def q(name: str) -> str:
    """The SQL text of one named runtime query."""
    return RUNTIME.q(name)
