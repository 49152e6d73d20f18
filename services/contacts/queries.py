"""The family's named SQL (the `-- name: x` blocks of sql/*.sql), read once."""

from __future__ import annotations

from supervisor.store.sql import Queries

QUERIES = Queries("services.contacts.sql")


def q(name: str) -> str:
    """The SQL text of one named query."""
    return QUERIES.q(name)
