"""The import's columns: CSV headers, table columns in COPY order, facets; header planning."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.contacts.cleaning import header_key

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


