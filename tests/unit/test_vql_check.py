"""VQL validation: every refusal names the part of the query and says what to do."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.contacts.vql import MISSING_SELECT_COLUMNS, Vql, VqlError, check


def refuse(data: dict[str, Any], service: str = "contact", *, export: bool = True) -> str:
    with pytest.raises(VqlError) as info:
        check(Vql.model_validate(data), service, export=export)
    return str(info.value)


def test_missing_select_columns_is_the_documents_text() -> None:
    assert refuse({}) == MISSING_SELECT_COLUMNS
    assert refuse({"select_columns": []}) == MISSING_SELECT_COLUMNS
    assert MISSING_SELECT_COLUMNS == (
        "ERR_MISSING_SELECT_COLUMNS: 'select_columns' is required for export operations; "
        "specify at least one column to include in the output")


def test_the_query_api_does_not_need_select_columns() -> None:
    check(Vql.model_validate({}), "contact", export=False)


def test_unknown_column_is_named_with_a_suggestion() -> None:
    msg = refuse({"select_columns": ["email", "frist_name"]})
    assert msg.startswith("vql.select_columns[1]: unknown field 'frist_name' for service contact")
    assert "did you mean first_name" in msg


def test_unknown_filter_field_is_named() -> None:
    msg = refuse({"select_columns": ["email"],
                  "where": {"keyword_match": {"must": {"contry": ["usa"]}}}})
    assert msg.startswith("vql.where.keyword_match.must.contry: unknown field 'contry'")


def test_bad_search_type_is_refused_by_the_model() -> None:
    with pytest.raises(ValidationError, match="search_type 'regex' is not one of exact"):
        Vql.model_validate({"where": {"text_matches": {"must": [
            {"text_value": "x", "filter_key": "title", "search_type": "regex"}]}}})


def test_range_on_a_text_field_is_refused() -> None:
    msg = refuse({"select_columns": ["email"],
                  "where": {"range_query": {"must": {"title": {"gte": "a"}}}}})
    assert msg == ("vql.where.range_query.must.title: title is a text field; range_query "
                   "takes number and date fields only")


def test_range_bound_of_the_wrong_type_is_refused() -> None:
    msg = refuse({"select_columns": ["name"],
                  "where": {"range_query": {"must": {"employees_count": {"gte": "many"}}}}},
                 "company")
    assert msg.startswith("vql.where.range_query.must.employees_count.gte: 'many' is not a "
                          "valid int")


def test_text_match_on_a_number_is_refused() -> None:
    msg = refuse({"select_columns": ["name"], "where": {"text_matches": {"must": [
        {"text_value": "5", "filter_key": "employees_count", "search_type": "exact"}]}}},
        "company")
    assert "employees_count is a int field; text_matches takes text fields" in msg


def test_unknown_service_is_refused() -> None:
    assert refuse({"select_columns": ["email"]}, "person").startswith(
        "service: service 'person' is not one of contact, company")


def test_empty_keyword_list_is_refused() -> None:
    assert "empty list" in refuse({"select_columns": ["email"],
                                   "where": {"keyword_match": {"must": {"country": []}}}})


def test_company_config_only_for_contacts_and_needs_columns() -> None:
    assert "contact exports only" in refuse(
        {"select_columns": ["name"], "company_config": {"populate": True,
                                                        "select_columns": ["name"]}}, "company")
    assert "name at least one company column" in refuse(
        {"select_columns": ["email"], "company_config": {"populate": True}})
    assert "unknown field 'revenue' for service company" in refuse(
        {"select_columns": ["email"],
         "company_config": {"populate": True, "select_columns": ["revenue"]}})


def test_cursor_and_search_after_are_the_same_key() -> None:
    a = Vql.model_validate({"cursor": ["7d3c0a0e-0000-4000-8000-000000000001"]})
    b = Vql.model_validate({"search_after": ["7d3c0a0e-0000-4000-8000-000000000001"]})
    assert a.cursor == b.cursor
    with pytest.raises(ValidationError, match="not both"):
        Vql.model_validate({"cursor": [], "search_after": []})


def test_cursor_must_have_one_value_per_sort_key() -> None:
    msg = refuse({"order_by": [{"order_by": "last_name"}], "cursor": ["x"]}, export=False)
    assert msg.startswith("vql.cursor: needs 2 values, one per sort key (last_name, uuid)")
    assert "not a valid uuid" in refuse({"cursor": ["not-a-uuid"]}, export=False)


def test_page_and_cursor_together_are_refused() -> None:
    msg = refuse({"page": 2, "cursor": ["7d3c0a0e-0000-4000-8000-000000000001"]}, export=False)
    assert msg == "vql.cursor: give cursor or page, not both"


def test_query_limit_is_capped_but_export_limit_is_not() -> None:
    assert "at most 100 rows" in refuse({"limit": 101}, export=False)
    check(Vql.model_validate({"limit": 1_000_000, "select_columns": ["email"]}), "contact",
          export=True)


def test_sorting_by_a_list_is_refused() -> None:
    assert "is a list" in refuse({"order_by": [{"order_by": "departments"}]}, export=False)


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ValidationError, match="selectColumns"):
        Vql.model_validate({"selectColumns": ["email"]})


@pytest.mark.parametrize("name", ["email; DROP TABLE contacts", "t.email", "email\"--",
                                  "uuid) OR (1=1"])
def test_field_names_that_try_sql_are_unknown_fields(name: str) -> None:
    assert "unknown field" in refuse({"select_columns": [name]})
    assert "unknown field" in refuse({"select_columns": ["email"],
                                      "where": {"keyword_match": {"must": {name: "x"}}}})
    assert "unknown field" in refuse({"order_by": [{"order_by": name}]}, export=False)
