"""One CSV row (a contact and its company) mapped to a companies row and a contacts row."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.contacts.cleaning import (
    BadValue,
    check_storable,
    clean_int,
    clean_list,
    clean_phone,
    clean_text,
    company_uuid,
    contact_uuid,
    email_domain,
    header_key,
    website_domain,
)

# The CSV columns the import knows (an Apollo-style people export: one contact and its company).
KNOWN_COLUMNS = (
    "first_name", "last_name", "title", "email", "email_status", "seniority", "departments",
    "mobile_phone", "work_direct_phone", "home_phone", "other_phone", "person_linkedin_url",
    "city", "state", "country", "stage", "company", "employees", "industry", "keywords",
    "company_address", "company_city", "company_state", "company_country", "company_phone",
    "company_linkedin_url", "website", "annual_revenue", "total_funding", "technologies",
    "facebook_url", "twitter_url", "company_name_for_emails", "latest_funding",
    "latest_funding_amount", "last_raised_at",
)
ALIASES = {"company_name": "company", "num_employees": "employees", "industries": "industry",
           "linkedin_url": "person_linkedin_url"}
LOWER = frozenset({
    "first_name", "last_name", "company", "email", "city", "state", "country", "company_city",
    "company_state", "company_country", "seniority", "stage", "person_linkedin_url",
    "company_linkedin_url",
})
INTEGERS = frozenset({"employees", "annual_revenue", "total_funding", "latest_funding_amount"})
LISTS = frozenset({"industry", "keywords", "technologies", "departments"})
PHONES = frozenset({"mobile_phone", "work_direct_phone", "home_phone", "other_phone",
                    "company_phone"})

# Table columns in COPY order, each with the CSV column it comes from.
COMPANY_COLUMNS = (
    ("uuid", None), ("name", "company"), ("employees_count", "employees"),
    ("industries", "industry"), ("keywords", "keywords"), ("address", "company_address"),
    ("annual_revenue", "annual_revenue"), ("total_funding", "total_funding"),
    ("technologies", "technologies"), ("city", "company_city"), ("state", "company_state"),
    ("country", "company_country"), ("linkedin_url", "company_linkedin_url"),
    ("website", "website"), ("normalized_domain", None), ("facebook_url", "facebook_url"),
    ("twitter_url", "twitter_url"), ("company_name_for_emails", "company_name_for_emails"),
    ("phone_number", "company_phone"), ("latest_funding", "latest_funding"),
    ("latest_funding_amount", "latest_funding_amount"), ("last_raised_at", "last_raised_at"),
)
CONTACT_COLUMNS = (
    ("uuid", None), ("first_name", "first_name"), ("last_name", "last_name"),
    ("company_id", None), ("email", "email"), ("title", "title"),
    ("departments", "departments"), ("mobile_phone", "mobile_phone"),
    ("email_status", "email_status"), ("seniority", "seniority"), ("city", "city"),
    ("state", "state"), ("country", "country"), ("linkedin_url", "person_linkedin_url"),
    ("facebook_url", "facebook_url"), ("twitter_url", "twitter_url"), ("website", "website"),
    ("work_direct_phone", "work_direct_phone"), ("home_phone", "home_phone"),
    ("other_phone", "other_phone"), ("stage", "stage"),
)
COMPANY_NAMES = tuple(c for c, _ in COMPANY_COLUMNS)
CONTACT_NAMES = tuple(c for c, _ in CONTACT_COLUMNS)
# Facets kept in filters_data: (service, table column, CSV column).
FILTERS = (
    ("company", "industries", "industry"), ("company", "technologies", "technologies"),
    ("company", "city", "company_city"), ("company", "state", "company_state"),
    ("company", "country", "company_country"), ("contact", "departments", "departments"),
    ("contact", "seniority", "seniority"), ("contact", "email_status", "email_status"),
    ("contact", "stage", "stage"), ("contact", "city", "city"), ("contact", "state", "state"),
    ("contact", "country", "country"),
)
Filter = tuple[str, str, str, str]  # (service, filter_key, display_value, value)


class HeaderError(ValueError):
    """A header row the import cannot use."""


@dataclass(frozen=True)
class Header:
    """Where each known column is in the CSV, and which columns are ignored."""

    width: int
    index: dict[str, int]
    ignored: tuple[str, ...]


def plan_header(names: Sequence[str]) -> Header:
    """Map a header row to known columns; HeaderError if none is known or one repeats."""
    index: dict[str, int] = {}
    ignored: list[str] = []
    for i, raw in enumerate(names):
        key = header_key(raw.lstrip("\ufeff"))
        key = ALIASES.get(key, key)
        if key not in KNOWN_COLUMNS:
            ignored.append(raw)
        elif key in index:
            raise HeaderError(f"column {raw!r} appears twice (as {key!r}); keep one")
        else:
            index[key] = i
    if not index:
        raise HeaderError("the header names none of the known columns (" +
                          ", ".join(KNOWN_COLUMNS[:6]) + ", ...)")
    return Header(len(names), index, tuple(ignored))


@dataclass(frozen=True)
class Mapped:
    """One good row: its company (or None), its contact (or None), and its facet values."""

    company: tuple[Any, ...] | None
    contact: tuple[Any, ...] | None
    filters: list[Filter]


def _clean_row(header: Header, values: Sequence[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """Cleaned values by CSV column, and the display form of the lower-cased ones."""
    out: dict[str, Any] = {}
    display: dict[str, str] = {}
    for column, i in header.index.items():
        raw = check_storable(column, values[i])
        if column in INTEGERS:
            out[column] = clean_int(column, raw)
        elif column in LISTS:
            out[column] = clean_list(raw)
        elif column in PHONES:
            out[column] = clean_phone(raw)
        else:
            text = clean_text(raw)
            if column in LOWER:
                display[column] = text
                text = text.lower()
            out[column] = text or None
    return out, display


def _tuple(columns: tuple[tuple[str, str | None], ...], row: dict[str, Any],
           extra: dict[str, Any]) -> tuple[Any, ...]:
    empty: dict[str, Any] = {c: 0 for c in INTEGERS} | {c: [] for c in LISTS}
    return tuple(extra[name] if src is None else row.get(src, empty.get(src))
                 for name, src in columns)


def _filters(row: dict[str, Any], display: dict[str, str], has_company: bool,
             has_contact: bool) -> list[Filter]:
    found: list[Filter] = []
    for service, key, src in FILTERS:
        if not (has_company if service == "company" else has_contact):
            continue
        value = row.get(src)
        if isinstance(value, list):
            found.extend((service, key, v, v) for v in value)
        elif value:
            found.append((service, key, display.get(src, value), value))
    return found


def map_row(header: Header, values: Sequence[str]) -> Mapped:
    """A good row's company and contact tuples (COPY order), or BadValue naming the problem."""
    if len(values) != header.width:
        raise BadValue(f"has {len(values)} fields, the header has {header.width}")
    row, display = _clean_row(header, values)
    name, company_li = row.get("company") or "", row.get("company_linkedin_url") or ""
    company_id: uuid.UUID | None = company_uuid(name, company_li) if name or company_li else None
    first, last = row.get("first_name") or "", row.get("last_name") or ""
    person_li = row.get("person_linkedin_url") or ""
    person = contact_uuid(first, last, person_li) if first or last or person_li else None
    if company_id is None and person is None:
        raise BadValue("no identity: first_name, last_name, person_linkedin_url, company and "
                       "company_linkedin_url are all empty")
    company = None
    if company_id is not None:
        domain = email_domain(row.get("email")) or website_domain(row.get("website"))
        company = _tuple(COMPANY_COLUMNS, row, {"uuid": company_id, "normalized_domain": domain})
    contact = None
    if person is not None:
        contact = _tuple(CONTACT_COLUMNS, row, {"uuid": person, "company_id": company_id})
    return Mapped(company, contact,
                  _filters(row, display, company is not None, contact is not None))
