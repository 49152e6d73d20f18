"""The family's named SQL (the `-- name: x` blocks of sql/*.sql), read once."""

from __future__ import annotations

from functools import cache
from importlib import resources

from supervisor.store.sql import parse_queries


@cache
def queries() -> dict[str, str]:
    """Every named query of services/contacts/sql."""
    found: dict[str, str] = {}
    for entry in sorted(resources.files("services.contacts.sql").iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            for name, sql in parse_queries(entry.read_text()).items():
                if name in found:
                    raise ValueError(f"query {name!r} is defined in two files")
                found[name] = sql
    return found


def q(name: str) -> str:
    """The SQL text of one named query."""
    return queries()[name]
