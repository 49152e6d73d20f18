"""A realistic people-export CSV: every known column, many contacts per company, dups, bad rows."""

from __future__ import annotations

import csv
import gzip
import io
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from services.contacts.mapping import KNOWN_COLUMNS

FIRST = ["Ann", "Bob", "Chen", "Dara", "Eve", "Farid", "Gosia", "Hugo", "Ines", "Jon", "Kai",
         "Lena", "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tomás"]
LAST = ["Lee", "Smith", "Nowak", "García", "Müller", "Okafor", "Tanaka", "Rossi", "Dubois",
        "Kowalski", "Silva", "Ivanova", "Haddad", "Larsen", "O'Brien"]
TITLES = ["VP Sales", "Head of Marketing", "CTO", "Software Engineer", "Account Executive",
          "Director, Operations", "Chief Executive Officer", "Data Scientist"]
SENIORITY = ["VP", "Director", "C suite", "Senior", "Entry", "Manager"]
DEPARTMENTS = ["Sales", "Marketing", "Engineering", "Finance", "Operations", "Human Resources"]
INDUSTRIES = ["Computer Software", "Information Technology & Services", "Financial Services",
              "Hospital & Health Care", "Retail", "Marketing & Advertising", "Logistics"]
TECH = ["Salesforce", "HubSpot", "AWS", "Google Analytics", "Slack", "Zendesk", "Stripe", "React"]
PLACES = [("New York", "New York", "United States"), ("Warsaw", "Mazovia", "Poland"),
          ("Berlin", "Berlin", "Germany"), ("São Paulo", "SP", "Brazil"),
          ("Austin", "Texas", "United States"), ("London", "England", "United Kingdom")]
FUNDING = ["Seed", "Series A", "Series B", "Series C", "Venture (Round not Specified)", ""]


@dataclass
class Generated:
    """What was written: row counts and the lines of the bad rows (header = line 1)."""

    rows: int = 0
    bad_lines: list[int] = field(default_factory=list)
    contacts: set[int] = field(default_factory=set)
    companies: set[int] = field(default_factory=set)


def _company(rng: random.Random, c: int) -> dict[str, str]:
    city, state, country = PLACES[c % len(PLACES)]
    return {
        "company": f"Acme {c} Inc.", "employees": str(rng.randrange(1, 50_000)),
        "industry": ", ".join(rng.sample(INDUSTRIES, 2)),
        "keywords": ", ".join(f"kw{rng.randrange(500)}" for _ in range(4)),
        "company_address": f"{c} Main Street, {city}", "company_city": city,
        "company_state": state, "company_country": country,
        "company_phone": f"+1 (555) {c % 1000:03d}-{c % 10000:04d}",
        "company_linkedin_url": f"https://www.linkedin.com/company/acme-{c}",
        "website": f"https://www.acme{c}.example", "annual_revenue": f"${rng.randrange(10**7):,}",
        "total_funding": f"{rng.randrange(10**6)}", "technologies": ", ".join(rng.sample(TECH, 3)),
        "facebook_url": f"https://facebook.com/acme{c}", "twitter_url": f"https://x.com/acme{c}",
        "company_name_for_emails": f"Acme {c}", "latest_funding": rng.choice(FUNDING),
        "latest_funding_amount": str(rng.randrange(10**6)), "last_raised_at": "2024-05-01",
    }


def _contact(rng: random.Random, p: int, c: int) -> dict[str, str]:
    first, last = FIRST[p % len(FIRST)], LAST[(p // len(FIRST)) % len(LAST)]
    city, state, country = PLACES[p % len(PLACES)]
    return {
        "first_name": first, "last_name": last, "title": rng.choice(TITLES),
        "email": f"{first}.{last}{p}@ACME{c}.example", "email_status": "Verified",
        "seniority": rng.choice(SENIORITY), "departments": ", ".join(rng.sample(DEPARTMENTS, 2)),
        "mobile_phone": f"+48 600 {p % 1000:03d} {p % 997:03d}", "work_direct_phone": "",
        "home_phone": "", "other_phone": "",
        "person_linkedin_url": f"http://www.linkedin.com/in/{first.lower()}-{p}",
        "city": city, "state": state, "country": country, "stage": "Cold",
    }


def write_csv(out: IO[str], rows: int, *, seed: int = 1, per_company: int = 20,
              dup_every: int = 40, bad_every: int = 0, bad_values: bool = False) -> Generated:
    """Write `rows` data rows; every `dup_every`-th repeats an earlier one, every `bad_every`-th
    (0: none) is bad: three fields only, or with `bad_values` a number too big to store (a row
    `COPY` into text columns still accepts)."""
    rng = random.Random(seed)
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(KNOWN_COLUMNS)
    gen = Generated()
    last: list[str] = []
    for i in range(rows):
        line = i + 2
        if bad_every and i % bad_every == bad_every - 1:
            if bad_values:
                w.writerow([("9" * 20 if k == "employees" else "x") for k in KNOWN_COLUMNS])
            else:
                w.writerow(["only", "three", "fields"])
            gen.bad_lines.append(line)
            continue
        if dup_every and last and i % dup_every == dup_every - 1:
            w.writerow(last)
            gen.rows += 1
            continue
        p = len(gen.contacts)
        c = rng.randrange(max(1, rows // per_company))
        # a company's fields depend on it alone, so all its rows agree
        row = _contact(rng, p, c) | _company(random.Random(seed * 1_000_003 + c), c)
        last = [row[k] for k in KNOWN_COLUMNS]
        w.writerow(last)
        gen.rows += 1
        gen.contacts.add(p)
        gen.companies.add(c)
    return gen


def write_file(path: Path, rows: int, **options: Any) -> Generated:
    """Write the CSV to `path` (gzip-compressed when it ends in .gz)."""
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8", newline="", compresslevel=3) as f:
            return write_csv(f, rows, **options)
    with path.open("w", encoding="utf-8", newline="") as f:
        return write_csv(f, rows, **options)


def csv_bytes(rows: int, **options: Any) -> tuple[bytes, Generated]:
    """A small CSV in memory, for tests."""
    buf = io.StringIO()
    gen = write_csv(buf, rows, **options)
    return buf.getvalue().encode(), gen
