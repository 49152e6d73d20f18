"""Records grouped into batches: good rows mapped and de-duplicated, bad rows with reasons."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from services.contacts.cleaning import BadValue
from services.contacts.mapping import Filter, Header, map_row
from services.contacts.reader import MAX_RAW, Record

SEEN_FILTERS_CAP = 50_000  # facet values remembered per import, so memory stays flat


@dataclass(frozen=True, slots=True)
class BadRow:
    """A skipped row: its line, why, and its text."""

    line: int
    reason: str
    raw: str


@dataclass
class Batch:
    """One transaction's worth of rows; companies and contacts keyed by uuid (the last wins)."""

    companies: dict[uuid.UUID, tuple[Any, ...]] = field(default_factory=dict)
    contacts: dict[uuid.UUID, tuple[Any, ...]] = field(default_factory=dict)
    filters: dict[tuple[str, str, str], Filter] = field(default_factory=dict)
    bad: list[BadRow] = field(default_factory=list)
    rows: int = 0  # good rows
    records: int = 0  # good and bad
    end: int = 0  # byte offset after the batch's last record
    line: int = 0  # last physical line of the batch


def _raw(fields: list[str]) -> str:
    """A parsed row written back as one CSV line (for <key>.errors.csv)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    return out.getvalue()[:MAX_RAW]


class Batcher:
    """Turns records into batches of `size` records."""

    def __init__(self, header: Header, size: int) -> None:
        self.header = header
        self.size = size
        self._seen: set[tuple[str, str, str]] = set()

    def _add(self, batch: Batch, rec: Record) -> None:
        batch.records += 1
        batch.end = rec.end
        batch.line = rec.line
        if rec.fields is None:
            batch.bad.append(BadRow(rec.line, rec.error or "unreadable row", rec.raw))
            return
        try:
            mapped = map_row(self.header, rec.fields)
        except BadValue as exc:
            batch.bad.append(BadRow(rec.line, str(exc), _raw(rec.fields)))
            return
        batch.rows += 1
        if mapped.company is not None:
            batch.companies[mapped.company[0]] = mapped.company
        if mapped.contact is not None:
            batch.contacts[mapped.contact[0]] = mapped.contact
        for f in mapped.filters:
            key = (f[0], f[1], f[3])
            if key not in self._seen:
                batch.filters.setdefault(key, f)

    def _remember(self, batch: Batch) -> None:
        # a failed batch fails the attempt, and the next attempt starts a new Batcher
        if len(self._seen) < SEEN_FILTERS_CAP:
            self._seen.update(batch.filters)

    def batches(self, recs: Iterable[Record]) -> Iterator[Batch]:
        """Consecutive batches of the records; the last may be short."""
        batch = Batch()
        for rec in recs:
            self._add(batch, rec)
            if batch.records >= self.size:
                self._remember(batch)
                yield batch
                batch = Batch()
        if batch.records:
            self._remember(batch)
            yield batch
