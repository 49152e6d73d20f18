"""Cleaning and mapping rules, each with a case, and the deterministic uuids."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.contacts.batch import Batcher
from services.contacts.cleaning import (
    BadValue,
    clean_int,
    clean_list,
    clean_phone,
    clean_text,
    company_uuid,
    contact_uuid,
    header_key,
)
from services.contacts.mapping import (
    COMPANY_NAMES,
    CONTACT_NAMES,
    HeaderError,
    plan_header,
)
from services.contacts.reader import Record
from services.contacts.rowmap import RowMapper, clean_fields, split_items


def map_row(header: Any, values: list[str]) -> Any:
    company, contact, _ = RowMapper(header).map(values)
    return company, contact


@pytest.mark.parametrize(("raw", "want"), [
    ("  Acme   Corp  ", "Acme Corp"), ("--Sales--", "Sales"), ("\tR&D\n dept ", "R&D dept"),
    ("***", ""), ("", ""), ("Zürich ", "Zürich"), ("a\u00a0\u00a0b", "a b"), ("a\u2003b", "a b"),
    ("São  Paulo", "São Paulo"),
])
def test_text_is_trimmed_and_collapsed(raw: str, want: str) -> None:
    assert clean_text(raw) == want
    # the per-row fast path cleans every field of a row at once, by the same rule
    assert clean_fields([raw, raw, "x"]).split("\x00") == [want, want, "x"]


@pytest.mark.parametrize(("raw", "want"), [
    ("$1,200,000", 1_200_000), ("", 0), ("   ", 0), ("n/a", 0), ("1200000.00", 1_200_000),
    ("250", 250), ("1 000", 1000),
])
def test_integers_keep_their_digits(raw: str, want: int) -> None:
    assert clean_int("annual_revenue", raw) == want


def test_an_integer_too_big_for_bigint_is_a_bad_value() -> None:
    with pytest.raises(BadValue, match="annual_revenue"):
        clean_int("annual_revenue", "99999999999999999999")


@pytest.mark.parametrize(("raw", "want"), [
    (" saas ,  fintech,,  b2b ", ["saas", "fintech", "b2b"]), ("", []),
    ("a, a ,b", ["a", "b"]), (" , ,", []), ("Computer Software", ["Computer Software"]),
])
def test_lists_split_on_commas_and_trim(raw: str, want: list[str]) -> None:
    assert clean_list(raw) == want
    assert split_items(clean_fields([raw])) == want


@pytest.mark.parametrize(("raw", "want"), [
    ("+1 (555) 010-2000", "+15550102000"), ("555.010.2000", "5550102000"),
    ("'+44 20 7946 0958", "442079460958"), ("0048 22 123 45 67", "+48221234567"),
    ("+1 555 010 2000 ext. 12", "+15550102000"), ("", None), ("n/a", None),
])
def test_phones_are_normalised(raw: str, want: str | None) -> None:
    assert clean_phone(raw) == want


def test_headers_become_keys() -> None:
    assert header_key(" First Name ") == "first_name"
    assert header_key("# Employees") == "employees"
    assert header_key("\ufeffemail") == "email"


def test_uuids_are_uuid5_of_the_documented_strings() -> None:
    assert company_uuid("Acme", "https://LinkedIn.com/company/acme") == uuid.uuid5(
        uuid.NAMESPACE_URL, "acme" + "https://linkedin.com/company/acme")
    assert contact_uuid("Ann", "Lee", "http://linkedin.com/in/ann") == uuid.uuid5(
        uuid.NAMESPACE_URL, "ann" + "lee" + "http://linkedin.com/in/ann")


HEADER = ["First Name", "Last Name", "Email", "Company", "company_linkedin_url",
          "person_linkedin_url", "Annual Revenue", "Industry", "Departments", "City",
          "company_country", "Mobile Phone", "Seniority", "unknown column"]


def _row(**over: str) -> list[str]:
    base = {"First Name": " Ann ", "Last Name": "LEE", "Email": "Ann.Lee@Acme.COM",
            "Company": "Acme Inc.", "company_linkedin_url": "https://LinkedIn.com/company/acme/",
            "person_linkedin_url": "HTTP://linkedin.com/in/ann", "Annual Revenue": "$1,200,000",
            "Industry": " Software ,SaaS ", "Departments": "sales, ,marketing",
            "City": "  New   York ", "company_country": "United States",
            "Mobile Phone": "+1 (555) 010-2000", "Seniority": "VP", "unknown column": "x"}
    base.update(over)
    return [base[h] for h in HEADER]


def test_a_row_maps_to_a_company_and_a_contact() -> None:
    header = plan_header(HEADER)
    assert header.ignored == ("unknown column",)
    mapped_company, mapped_contact = map_row(header, _row())
    assert mapped_company is not None and mapped_contact is not None
    company = dict(zip(COMPANY_NAMES, mapped_company, strict=True))
    contact = dict(zip(CONTACT_NAMES, mapped_contact, strict=True))
    assert company["uuid"] == uuid.uuid5(
        uuid.NAMESPACE_URL, "acme inc" + "https://linkedin.com/company/acme")
    assert company["name"] == "acme inc"
    assert company["annual_revenue"] == 1_200_000
    assert company["employees_count"] == 0  # no column: the integer default
    assert company["industries"] == ["Software", "SaaS"]
    assert company["normalized_domain"] == "acme.com"
    assert company["country"] == "united states"
    assert contact["email"] == "ann.lee@acme.com"
    assert (contact["first_name"], contact["last_name"]) == ("ann", "lee")
    assert contact["company_id"] == company["uuid"]
    assert contact["departments"] == ["sales", "marketing"]
    assert contact["city"] == "new york"
    assert contact["mobile_phone"] == "+15550102000"
    assert contact["seniority"] == "vp"
    assert contact["title"] == ""  # no column: empty text, stored as NULL


def test_a_contact_without_company_has_no_company_id() -> None:
    company, contact = map_row(plan_header(HEADER), _row(Company="", company_linkedin_url=""))
    assert company is None and contact is not None
    assert contact[CONTACT_NAMES.index("company_id")] is None


def test_bad_rows_name_the_problem() -> None:
    header = plan_header(HEADER)
    with pytest.raises(BadValue, match="has 3 fields, the header has 14"):
        map_row(header, ["a", "b", "c"])
    with pytest.raises(BadValue, match="no identity"):
        map_row(header, _row(**{"First Name": "", "Last Name": "", "Company": "",
                                "company_linkedin_url": "", "person_linkedin_url": ""}))
    with pytest.raises(BadValue, match="NUL"):
        map_row(header, _row(Email="a\x00@b.c"))


def test_a_header_must_name_a_known_column() -> None:
    with pytest.raises(HeaderError, match="none of the known columns"):
        plan_header(["foo", "bar"])
    with pytest.raises(HeaderError, match="appears twice"):
        plan_header(["email", "Email"])


def test_a_batch_keeps_the_last_row_of_a_uuid_and_new_facets_in_their_file_form() -> None:
    header = plan_header(HEADER)
    recs = [Record(i + 2, 0, r) for i, r in enumerate([
        _row(), _row(Seniority="Director"), _row(**{"First Name": "Bo", "City": "Paris"})])]
    (batch,) = Batcher(header, 10).batches(recs)
    assert (batch.rows, len(batch.contacts), len(batch.companies)) == (3, 2, 1)
    seniority = CONTACT_NAMES.index("seniority")
    assert sorted(c[seniority] for c in batch.contacts.values()) == ["director", "vp"]
    assert batch.filters[("contact", "city", "paris")] == ("contact", "city", "Paris", "paris")
    assert batch.filters[("company", "industries", "SaaS")][2] == "SaaS"
    assert batch.filters[("contact", "seniority", "director")][2] == "Director"
    (again,) = Batcher(header, 10).batches(recs[:1])
    assert ("contact", "city", "new york") in again.filters


def test_repeated_values_map_alike_and_a_refused_one_stays_refused() -> None:
    header = plan_header(["first_name", "company", "employees", "industry", "company_phone"])
    mapper = RowMapper(header)
    row = ["Ann", "Acme", "1,200", "Retail , Logistics,Retail", "+1 (555) 010-2000 x12"]
    first = mapper.map(row)
    again = mapper.map(list(row))  # the memo answers now: the same tuples
    assert first[:2] == again[:2]
    at = COMPANY_NAMES.index
    company = first[0]
    assert (company[at("employees_count")], company[at("industries")],
            company[at("phone_number")]) == (1200, ["Retail", "Logistics"], "+15550102000")
    too_big = ["Bob", "Beta", "9" * 20, "", ""]
    for _ in range(2):  # an error is not remembered as a result
        with pytest.raises(BadValue, match="employees"):
            mapper.map(too_big)


def test_the_memo_forgets_when_full_so_memory_stays_flat(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from services.contacts import rowmap
    monkeypatch.setattr(rowmap, "MEMO_CAP", 3)
    memo = rowmap.Memo(split_items)
    for n in range(10):
        assert memo[f"a{n}, b"] == [f"a{n}", "b"]
        assert len(memo) <= 3
