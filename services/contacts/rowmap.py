"""The per-row hot path: a CSV row cleaned and mapped to a companies and a contacts tuple.

A row's text fields are cleaned in one pass over the row joined by NUL (which a stored value
may not contain anyway), and the tuples are picked out of one list by an itemgetter, so the
Python work per row is a handful of calls. The rules are those of `cleaning`, which says them
one value at a time (and the tests hold the two to the same cases).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import partial
from itertools import repeat
from operator import itemgetter
from typing import Any

from services.contacts.cleaning import (
    BadValue,
    clean_int,
    clean_phone,
    clean_text,
    company_uuid,
    contact_uuid,
    email_domain,
    website_domain,
)
from services.contacts.mapping import (
    COMPANY_COLUMNS,
    CONTACT_COLUMNS,
    INTEGERS,
    LISTS,
    LOWER,
    PHONES,
    Header,
)

SEP = "\x00"
JUNK = "".join(chr(c) for c in range(128) if not chr(c).isalnum())  # ASCII non-letter/digit
_ASCII_SPACES = re.compile(r"[ \t\n\r\x0b\x0c]{2,}|[\t\n\r\x0b\x0c]")
_ITEMS = re.compile(r"(?:[^\w\x00]|_)*,(?:[^\w\x00]|_)*")
EMPTY_LIST: list[str] = []  # shared by every row without the column; never mutated
MEMO_CAP = 20_000  # remembered values per kind of field; then forgotten, so memory stays flat
Texts = tuple[list[str], list[str]]  # (cleaned, lowered) fields of one row, by CSV position


def clean_fields(values: Sequence[str]) -> str:
    """Every field of a row trimmed and collapsed, joined by NUL (the caller checks for NUL).

    ASCII fields take C-speed paths (str.strip, one regex over the row only when it has runs
    of whitespace); a field with other characters goes through cleaning.clean_text.
    """
    fields = list(map(str.strip, values, repeat(JUNK, len(values))))
    if not all(map(str.isascii, fields)):
        fields = [v if v.isascii() else clean_text(v) for v in fields]
    joined = SEP.join(fields)
    if "  " in joined or any(c in joined for c in "\t\n\r\x0b\x0c"):
        joined = _ASCII_SPACES.sub(" ", joined)
    return joined


def split_items(value: str) -> list[str]:
    """A cleaned list field's items: split on commas, trimmed, empties and repeats dropped."""
    if not value:
        return EMPTY_LIST
    if value.isascii():
        parts = value.split(",")
        return list(dict.fromkeys(filter(None, map(str.strip, parts, repeat(JUNK, len(parts))))))
    return list(dict.fromkeys(filter(None, _ITEMS.split(value))))


class Memo(dict[str, Any]):
    """Results of a pure cleaning function by raw value: list fields, phones and integers
    repeat across rows (every contact of a company carries its company's), and a dict lookup
    costs a tenth of cleaning again. Results are shared between rows and never mutated."""

    def __init__(self, clean: Any) -> None:
        super().__init__()
        self.clean = clean

    def __missing__(self, value: str) -> Any:
        if len(self) >= MEMO_CAP:
            self.clear()
        result = self[value] = self.clean(value)
        return result


class RowMapper:
    """Maps rows of one header; build once per import."""

    def __init__(self, header: Header) -> None:
        self.header = header
        self._items = Memo(split_items)
        self._phone = Memo(lambda v: clean_phone(v) if v else None)
        self._ints = {c: Memo(partial(clean_int, c)) for c in INTEGERS}
        w = header.width
        idx = header.index
        self.ints = [(c, idx[c]) for c in sorted(INTEGERS) if c in idx]
        self.lists = [idx[c] for c in sorted(LISTS) if c in idx]
        self.phones = [idx[c] for c in sorted(PHONES) if c in idx]
        base = 2 * w
        where: dict[str, int] = {}
        for n, (c, _) in enumerate(self.ints):
            where[c] = base + n
        for n, c in enumerate(c for c in sorted(LISTS) if c in idx):
            where[c] = base + len(self.ints) + n
        for n, c in enumerate(c for c in sorted(PHONES) if c in idx):
            where[c] = base + len(self.ints) + len(self.lists) + n
        extra = base + len(self.ints) + len(self.lists) + len(self.phones)
        self._extra = {"company": extra, "contact": extra + 1, "domain": extra + 2,
                       "text": extra + 3, "int": extra + 4, "list": extra + 5}
        for c, i in idx.items():
            where.setdefault(c, w + i if c in LOWER else i)
        self._company = self._getter(COMPANY_COLUMNS, where, {"uuid": "company",
                                                              "normalized_domain": "domain"})
        self._contact = self._getter(CONTACT_COLUMNS, where, {"uuid": "contact",
                                                              "company_id": "company"})
        self._ident = [w + idx[c] if c in idx else -1 for c in (
            "company", "company_linkedin_url", "first_name", "last_name", "person_linkedin_url",
            "email")]
        self._website = idx.get("website", -1)

    def _getter(self, columns: tuple[tuple[str, str | None], ...], where: dict[str, int],
                derived: dict[str, str]) -> Any:
        positions = []
        for name, src in columns:
            if src is None:
                positions.append(self._extra[derived[name]])
            elif src in where:
                positions.append(where[src])
            else:
                kind = "int" if src in INTEGERS else "list" if src in LISTS else "text"
                positions.append(self._extra[kind])
        return itemgetter(*positions)

    def map(self, values: Sequence[str]) -> tuple[tuple[Any, ...] | None,
                                                  tuple[Any, ...] | None, Texts]:
        """(company tuple or None, contact tuple or None, the row's texts), or BadValue."""
        width = self.header.width
        if len(values) != width:
            raise BadValue(f"has {len(values)} fields, the header has {width}")
        joined = clean_fields(values)
        if joined.count(SEP) != width - 1:
            column = next((c for c, i in self.header.index.items() if SEP in values[i]), "row")
            raise BadValue(f"{column}: contains a NUL character, which PostgreSQL text "
                           "cannot store")
        cleaned = joined.split(SEP)
        lowered = joined.lower().split(SEP)
        vals: list[Any] = cleaned + lowered
        ints, items, phone = self._ints, self._items, self._phone
        vals += [ints[c][cleaned[i]] for c, i in self.ints]
        vals += [items[cleaned[i]] for i in self.lists]
        vals += [phone[values[i]] for i in self.phones]
        name, company_li, first, last, person_li, email = (
            lowered[i - width] if i >= 0 else "" for i in self._ident)
        cid = company_uuid(name, company_li) if name or company_li else None
        pid = contact_uuid(first, last, person_li) if first or last or person_li else None
        if cid is None and pid is None:
            raise BadValue("no identity: first_name, last_name, person_linkedin_url, company "
                           "and company_linkedin_url are all empty")
        domain = email_domain(email) or (
            website_domain(cleaned[self._website]) if self._website >= 0 else None)
        vals += (cid, pid, domain, "", 0, EMPTY_LIST)
        company = self._company(vals) if cid is not None else None
        contact = self._contact(vals) if pid is not None else None
        return company, contact, (cleaned, lowered)
