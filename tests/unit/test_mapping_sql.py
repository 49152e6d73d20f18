"""Which mappings the SQL replay engine takes, and the statement it builds for them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.cdp.mapping import loaded
from services.cdp.mapping_sql import SLOTS, compile_replay, refusal

NOW = datetime(2024, 5, 1, tzinfo=UTC)


def by_type(*mappings: dict[str, Any]) -> Any:
    """Mapping records as the job loads them."""
    return loaded([{"record": m} for m in mappings])


def mapping(name: str, rules: list[tuple[str, int, str]], event_type: str = "purchase",
            condition: str | None = None) -> dict[str, Any]:
    """A mapping record with these (source, op, target) rules."""
    return {"name": name, "event_type": event_type,
            "config": {"condition": condition} if condition else {},
            "event_to_profile": [{"event": {"value": s}, "op": op, "profile": {"value": d}}
                                 for s, op, d in rules]}


def test_independent_rules_and_event_conditions_compile() -> None:
    mappings = by_type(
        mapping("a", [("properties.email", 0, "pii.email"), ("properties.sku", 2, "aux.skus")]),
        mapping("b", [("properties.x", 1, "aux.x")], "visit",
                'event@properties.kind == "promo" AND profile@traits.vip == TRUE'))
    assert refusal(mappings) is None
    plan = compile_replay(mappings, NOW)
    assert plan is not None and plan.owners == ["a", "a", "b"]
    assert not any(slot in plan.sql for slot in SLOTS.values())  # every slot filled
    assert "purchase" in plan.params and ["pii", "email"] in plan.params


@pytest.mark.parametrize(("mappings", "reason"), [
    ([mapping("a", [("properties.e", 0, "pii.email"), ("properties.f", 1, "pii.email")])],
     "two rules write 'pii.email' and 'pii.email'"),
    ([mapping("a", [("properties.e", 0, "aux")]),
      mapping("b", [("properties.f", 2, "aux.skus")], "visit")],
     "two rules write 'aux' and 'aux.skus'"),
    ([mapping("a", [("properties.items.0", 0, "aux.first")])], "list position"),
    ([mapping("a", [("properties.e", 0, "aux. 1")])], "list position"),
    ([mapping("a", [("properties.e", 0, "aux.x")], condition="profile@aux.x EXISTS")],
     "reads profile@aux.x, which a rule writes"),
    ([mapping("a", [("properties.e", 0, "aux.x.y")], condition="profile@aux EXISTS")],
     "reads profile@aux, which a rule writes"),
])
def test_dependent_rules_keep_the_python_engine(mappings: list[dict[str, Any]],
                                                reason: str) -> None:
    why = refusal(by_type(*mappings))
    assert why is not None and reason in why
