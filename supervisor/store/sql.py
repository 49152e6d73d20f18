"""Named SQL queries, read once from the .sql files beside this module.

A file holds `-- name: x` blocks (queries) and `-- fragment: y` blocks: a piece of SQL that
several queries share, such as the column list a claim returns, so it is written once. A line
`-- include: y` in a query is replaced by fragment y of the same folder, indented like the
line. A fragment's positional parameters ($n) mean the same in every query that includes it.
"""

from __future__ import annotations

import re
from importlib import resources

_BLOCK = re.compile(r"^--\s*(name|fragment):\s*(\w+)\s*$", re.MULTILINE)
_INCLUDE = re.compile(r"^([ \t]*)--\s*include:\s*(\w+)[ \t]*$", re.MULTILINE)


def parse_blocks(text: str) -> tuple[dict[str, str], dict[str, str]]:
    """Split a file into ({query name: sql}, {fragment name: sql}), includes not expanded."""
    parts = _BLOCK.split(text)
    found: tuple[dict[str, str], dict[str, str]] = ({}, {})
    for kind, name, body in zip(parts[1::3], parts[2::3], parts[3::3], strict=True):
        blocks = found[0] if kind == "name" else found[1]
        if name in blocks:
            raise ValueError(f"{'query' if kind == 'name' else 'fragment'} {name!r} is "
                             "defined twice")
        blocks[name] = body.strip()
    return found


def expand(queries: dict[str, str], fragments: dict[str, str]) -> dict[str, str]:
    """The queries with each `-- include: y` line replaced by fragment y (one level: a
    fragment includes nothing, so what a query sends is what its file and one fragment say)."""
    for name, sql in fragments.items():
        if _INCLUDE.search(sql):
            raise ValueError(f"fragment {name!r} includes another; write it out, or include "
                             "both in the query")
    def one(name: str, sql: str) -> str:
        def fragment(match: re.Match[str]) -> str:
            indent, wanted = match.groups()
            if wanted not in fragments:
                raise ValueError(f"query {name!r} includes {wanted!r}, which is no fragment of "
                                 f"its folder (known: {', '.join(sorted(fragments)) or 'none'})")
            return "\n".join(indent + line if line else line
                             for line in fragments[wanted].splitlines())
        return _INCLUDE.sub(fragment, sql)

    return {name: one(name, sql) for name, sql in queries.items()}


def parse_queries(text: str) -> dict[str, str]:
    """Split a file of `-- name: x` blocks into {name: sql}, its own fragments included."""
    return expand(*parse_blocks(text))


class Queries:
    """The named queries of every .sql file in one package folder, read on first use."""

    def __init__(self, package: str, folder: str = "") -> None:
        self.package = package
        self.folder = folder
        self._found: dict[str, str] | None = None

    def all(self) -> dict[str, str]:
        """{name: sql} of every query in the folder, fragments included."""
        if self._found is None:
            found: tuple[dict[str, str], dict[str, str]] = ({}, {})
            where = resources.files(self.package)
            where = where / self.folder if self.folder else where
            for entry in sorted(where.iterdir(), key=lambda e: e.name):
                if entry.name.endswith(".sql"):
                    for into, blocks in zip(found, parse_blocks(entry.read_text()),
                                            strict=True):
                        for name, sql in blocks.items():
                            if name in into:
                                raise ValueError(f"{name!r} is defined in two files of "
                                                 f"{self.package}")
                            into[name] = sql
            self._found = expand(*found)
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
