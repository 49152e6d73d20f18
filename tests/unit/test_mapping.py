"""Event-to-profile mapping operations, and the records they refuse."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.cdp.mapping import MappingIn, Rule, apply_mappings, apply_rule
from services.cdp.segments.model import FieldError

EVENT: dict[str, Any] = {"type": "purchase", "properties": {
    "email": "a@x.io", "tags": ["gold", "eu"], "sku": "A1", "blank": "", "addr": {"c": "FR"}}}


def rule(src: str, op: int, dst: str) -> Rule:
    return Rule.model_validate({"event": {"value": src}, "op": op, "profile": {"value": dst}})


def test_equals_overwrites() -> None:
    profile: dict[str, Any] = {"traits": {"email": "old@x.io"}}
    assert apply_rule(profile, EVENT, rule("properties.email", 0, "traits.email")) is None
    assert profile["traits"]["email"] == "a@x.io"


def test_equals_if_not_exists_keeps_a_value() -> None:
    profile: dict[str, Any] = {"traits": {"email": "old@x.io"}}
    apply_rule(profile, EVENT, rule("event@properties.email", 1, "profile@traits.email"))
    assert profile["traits"]["email"] == "old@x.io"
    empty: dict[str, Any] = {}
    apply_rule(empty, EVENT, rule("properties.email", 1, "pii.email"))
    assert empty == {"pii": {"email": "a@x.io"}}


def test_append_wraps_a_scalar_and_adds_each_value_once() -> None:
    profile: dict[str, Any] = {"interests": {"sku": "Z9"}}
    apply_rule(profile, EVENT, rule("properties.sku", 2, "interests.sku"))
    assert profile["interests"]["sku"] == ["Z9", "A1"]
    apply_rule(profile, EVENT, rule("properties.sku", 2, "interests.sku"))
    assert profile["interests"]["sku"] == ["Z9", "A1"]  # a replay adds nothing twice
    apply_rule(profile, EVENT, rule("properties.tags", 2, "interests.tags"))
    assert profile["interests"]["tags"] == ["gold", "eu"]


def test_append_refuses_a_dict() -> None:
    profile: dict[str, Any] = {}
    warning = apply_rule(profile, EVENT, rule("properties.addr", 2, "aux.addr"))
    assert warning is not None and "object" in warning
    assert profile == {}


@pytest.mark.parametrize("src", ["properties.blank", "properties.missing"])
def test_empty_source_is_skipped_with_a_warning(src: str) -> None:
    profile: dict[str, Any] = {"traits": {"x": 1}}
    warning = apply_rule(profile, EVENT, rule(src, 0, "traits.x"))
    assert warning is not None and "empty" in warning
    assert profile == {"traits": {"x": 1}}


@pytest.mark.parametrize("target", ["metadata.time.insert", "id", "active", "traits.", "x.y"])
def test_targets_outside_the_allowed_prefixes_are_refused(target: str) -> None:
    with pytest.raises(ValidationError, match="not an allowed target"):
        rule("properties.email", 0, target)


@pytest.mark.parametrize("op", [3, -1, 10])
def test_operations_outside_0_1_2_are_refused(op: int) -> None:
    with pytest.raises(ValidationError, match="op must be 0"):
        rule("properties.email", op, "traits.email")


def test_condition_gates_a_mapping_and_is_checked_on_save() -> None:
    m = MappingIn.model_validate({
        "name": "Email", "event_type": {"id": "Purchase"},
        "config": {"condition": "event@properties.sku == \"A1\""},
        "event_to_profile": [{"event": {"value": "properties.email"}, "op": 0,
                              "profile": {"value": "traits.email"}}]})
    assert m.mapping_id == "email" and m.event_type.id == "purchase"
    profile: dict[str, Any] = {}
    assert apply_mappings(profile, EVENT, [(m, m.parsed())]) == []
    assert profile == {"traits": {"email": "a@x.io"}}
    other: dict[str, Any] = {}
    apply_mappings(other, {**EVENT, "properties": {"sku": "B", "email": "b@x"}},
                   [(m, m.parsed())])
    assert other == {}
    bad = m.model_copy(update={"config": {"condition": "event@a == 1 OR"}})
    with pytest.raises(FieldError) as info:
        bad.parsed()
    assert info.value.field == "config.condition" and "column" in info.value.message


def test_append_compares_json_values() -> None:
    profile: dict[str, Any] = {"aux": {"n": [1]}}
    for v in (1.0, True, 0, False, "1", {"a": 1}, [2]):
        apply_rule(profile, {"v": [v]}, rule("v", 2, "aux.n"))
    # 1.0 equals 1 (jsonb's equality), but True is not 1 and False is not 0 (Python's would)
    assert profile["aux"]["n"] == [1, True, 0, False, "1", {"a": 1}, [2]]
    assert [type(v) for v in profile["aux"]["n"][:4]] == [int, bool, int, bool]
