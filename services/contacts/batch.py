"""Records grouped into batches: good rows mapped and de-duplicated, bad rows with reasons."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from services.contacts.cleaning import BadValue
from services.contacts.mapping import (
    COMPANY_NAMES,
    CONTACT_NAMES,
    FILTERS,
    LISTS,
    LOWER,
    Filter,
    Header,
)
from services.contacts.reader import MAX_RAW, Record
from services.contacts.rowmap import RowMapper, Texts

SEEN_FILTERS_CAP = 50_000  # facet values remembered per import, so memory stays flat
MAX_FACET = 200  # longer values are no facet (and would not fit a btree index entry anyway)


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
    lines: dict[uuid.UUID, int] = field(default_factory=dict)  # uuid -> line it came from
    sources: dict[int, list[str]] = field(default_factory=dict)  # line -> fields (good rows)
    rows: int = 0  # good rows
    records: int = 0  # good and bad
    end: int = 0  # byte offset after the batch's last record
    line: int = 0  # last physical line of the batch


def split_by_line(batch: Batch) -> list[tuple[int, Batch]]:
    """The batch's rows as one-line batches (to find a row the database refuses)."""
    parts: dict[int, Batch] = {}
    company_at = CONTACT_NAMES.index("company_id")
    for uid, line in batch.lines.items():
        part = parts.setdefault(line, Batch(records=1, rows=1, line=line))
        contact = batch.contacts.get(uid)
        if contact is not None:
            part.contacts[uid] = contact
            company = batch.companies.get(contact[company_at])
            if company is not None:  # a contact's row carries its company
                part.companies[company[0]] = company
        elif uid in batch.companies:
            part.companies[uid] = batch.companies[uid]
    return sorted(parts.items())


def raw_row(fields: list[str]) -> str:
    """A parsed row written back as one CSV line (for <key>.errors.csv)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    return out.getvalue()[:MAX_RAW]


class Batcher:
    """Turns records into batches of `size` records."""

    def __init__(self, header: Header, size: int) -> None:
        self.mapper = RowMapper(header)
        self.size = size
        self._seen: set[tuple[str, str, str]] = set()

    def _add(self, batch: Batch, rec: Record, texts: list[Texts]) -> None:
        batch.records += 1
        batch.end = rec.end
        batch.line = rec.line
        if rec.fields is None:
            batch.bad.append(BadRow(rec.line, rec.error or "unreadable row", rec.raw))
            return
        try:
            company, contact, row_texts = self.mapper.map(rec.fields)
        except BadValue as exc:
            batch.bad.append(BadRow(rec.line, str(exc), raw_row(rec.fields)))
            return
        batch.rows += 1
        texts.append(row_texts)
        batch.sources[rec.line] = rec.fields
        if company is not None:
            batch.companies[company[0]] = company
            batch.lines[company[0]] = rec.line
        if contact is not None:
            batch.contacts[contact[0]] = contact
            batch.lines[contact[0]] = rec.line

    def _close(self, batch: Batch, texts: list[Texts]) -> Batch:
        batch.filters = new_facets(batch, texts, self.mapper.header, self._seen)
        # a failed batch fails the attempt, and the next attempt starts a new Batcher
        if len(self._seen) < SEEN_FILTERS_CAP:
            self._seen.update(batch.filters)
        return batch

    def batches(self, recs: Iterable[Record]) -> Iterator[Batch]:
        """Consecutive batches of the records; the last may be short."""
        batch, texts = Batch(), list[Texts]()
        for rec in recs:
            self._add(batch, rec, texts)
            if batch.records >= self.size:
                yield self._close(batch, texts)
                batch, texts = Batch(), []
        if batch.records:
            yield self._close(batch, texts)


def _values(rows: Iterable[tuple[Any, ...]], at: int, is_list: bool) -> set[str]:
    if is_list:
        return {v for r in rows for v in r[at]}
    found = {r[at] for r in rows}
    found.discard("")
    found.discard(None)
    return found


def new_facets(batch: Batch, texts: list[Texts], header: Header,
               seen: set[tuple[str, str, str]]) -> dict[tuple[str, str, str], Filter]:
    """The facet values of a batch not seen before, with their display form."""
    found: dict[tuple[str, str, str], Filter] = {}
    for service, key, src in FILTERS:
        names = COMPANY_NAMES if service == "company" else CONTACT_NAMES
        rows = batch.companies.values() if service == "company" else batch.contacts.values()
        for value in _values(rows, names.index(key), src in LISTS):
            if len(value) <= MAX_FACET and (service, key, value) not in seen:
                found[(service, key, value)] = (service, key, value, value)
        if src in LOWER and found:
            _display(found, service, key, texts, header.index.get(src))
    return found


def _display(found: dict[tuple[str, str, str], Filter], service: str, key: str,
             texts: list[Texts], at: int | None) -> None:
    """Give new lower-cased facet values the form they had in the file."""
    if at is None:
        return
    wanted = {v for (s, k, v) in found if (s, k) == (service, key)}
    for cleaned, lowered in texts:
        if lowered[at] in wanted:
            found[(service, key, lowered[at])] = (service, key, cleaned[at], lowered[at])
            wanted.discard(lowered[at])
            if not wanted:
                return
