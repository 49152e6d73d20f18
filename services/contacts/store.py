"""The import's writes: one transaction per batch, COPY into temp tables, one upsert per table."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio
import asyncpg
from asyncpg.pool import PoolConnectionProxy
from asyncpg.transaction import Transaction

from services.contacts.batch import BadRow, Batch
from services.contacts.mapping import COMPANY_NAMES, CONTACT_NAMES
from services.contacts.queries import q

Conn = asyncpg.Connection | PoolConnectionProxy


async def _rollback(conn: Conn, tr: Transaction) -> None:
    """Roll back a batch's transaction if it is still open (a failed statement, a cancel).

    Shielded and bounded: a cancelled import still leaves its connection idle; if even that
    fails, the pool's reset on release rolls back.
    """
    with anyio.move_on_after(5, shield=True), contextlib.suppress(asyncpg.PostgresError,
                                                                  asyncpg.InterfaceError,
                                                                  OSError):
        if conn.is_in_transaction():
            await tr.rollback()


@dataclass(frozen=True)
class Written:
    """What one batch changed: rows inserted or updated (unchanged rows are not counted)."""

    companies: int
    contacts: int


class ImportStore:
    """Writes batches on one connection held for the whole import."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def prepare(self) -> None:
        """Create this session's staging tables and check they shadow the template tables."""
        await self.conn.execute(q("create_companies_import"))
        await self.conn.execute(q("create_contacts_import"))
        if not await self.conn.fetchval(q("import_tables_are_temporary")):
            raise RuntimeError("companies_import/contacts_import do not resolve to this "
                               "session's temp tables; check search_path")

    async def write(self, job: uuid.UUID, batch: Batch) -> Written:
        """Upsert a batch's companies, contacts, facet values and bad rows in one transaction."""
        return await self.apply(await self.load(job, batch), batch)

    async def load(self, job: uuid.UUID, batch: Batch,
                   skip: dict[uuid.UUID, tuple[Any, ...]] | None = None) -> Transaction:
        """Begin the batch's transaction: COPY its rows into the temp tables, add its bad rows.

        The transaction is left open for `apply`; meanwhile the other connection of a
        pipelined import can be loading the next batch (see writer.Writer). A company whose
        exact row is in `skip` (committed by an earlier batch of this import) is not sent again.
        """
        companies = list(batch.companies.values()) if not skip else [
            c for uid, c in batch.companies.items() if skip.get(uid) != c]
        tr = self.conn.transaction()
        await tr.start()
        try:
            if companies:
                await self.conn.copy_records_to_table(
                    "companies_import", schema_name="pg_temp", columns=COMPANY_NAMES,
                    records=companies)
            if batch.contacts:
                await self.conn.copy_records_to_table(
                    "contacts_import", schema_name="pg_temp", columns=CONTACT_NAMES,
                    records=list(batch.contacts.values()))
            if batch.bad:
                await self.add_bad_rows(job, batch.bad)
        except BaseException:
            await _rollback(self.conn, tr)
            raise
        return tr

    async def apply(self, tr: Transaction, batch: Batch) -> Written:
        """Upsert the loaded batch and its facet values, and commit (or roll back on error)."""
        facets: list[list[str]] = [list(c) for c in zip(*batch.filters.values(), strict=True)]
        try:
            row = await self.conn.fetchrow(q("upsert_batch"), *(facets or [[], [], [], []]))
            await tr.commit()
        except BaseException:
            await _rollback(self.conn, tr)
            raise
        assert row is not None
        return Written(row["companies"], row["contacts"])

    async def rollback(self, tr: Transaction) -> None:
        """Abandon a loaded batch's transaction."""
        await _rollback(self.conn, tr)

    async def add_bad_rows(self, job: uuid.UUID, bad: list[BadRow]) -> None:
        """Record skipped rows of an import (a repeat of a line keeps the first report)."""
        await self.conn.execute(q("insert_bad_rows"), job, [b.line for b in bad],
                                [b.reason for b in bad], [b.raw for b in bad])

    async def bad_row_count(self, job: uuid.UUID) -> int:
        """How many rows of this import were skipped."""
        count: int = await self.conn.fetchval(q("count_bad_rows"), job)
        return count

    async def first_bad_rows(self, job: uuid.UUID, limit: int) -> list[dict[str, Any]]:
        """The first skipped rows, by line."""
        rows = await self.conn.fetch(q("first_bad_rows"), job, limit)
        return [{"line": r["line"], "reason": r["reason"]} for r in rows]

    async def bad_rows(self, job: uuid.UUID, page: int = 1000) -> AsyncIterator[BadRow]:
        """Every skipped row, by line, a page at a time."""
        after = 0
        while True:
            rows = await self.conn.fetch(q("bad_rows_page"), job, after, page)
            for r in rows:
                yield BadRow(r["line"], r["reason"], r["raw"])
            if len(rows) < page:
                return
            after = rows[-1]["line"]

    async def forget_bad_rows(self, job: uuid.UUID) -> None:
        """Drop an import's bad rows once they are in <key>.errors.csv."""
        await self.conn.execute(q("delete_bad_rows"), job)
