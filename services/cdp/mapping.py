"""Event-to-profile mappings: copy event values onto the profile, live in the collector and
replayed over history by the `post_collection_mapping` job.

Operations: 0 equals (overwrite), 1 equals if the profile has no value yet, 2 append (a scalar
or the items of a list, each only if the list lacks it, so a replay adds nothing twice; a dict
is refused). "Lacks" compares JSON values (json_equal: numbers by value, a boolean never equals
a number), which is jsonb's equality in the SQL replay engine (mapping_sql.py). Targets only
under ALLOWED_TARGETS; an empty source value is skipped with a warning.
"""

from __future__ import annotations

import copy
import logging
from functools import cached_property
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.cdp.model import normalise_type
from services.cdp.segments.condition import evaluate
from services.cdp.segments.condition import tree as t
from services.cdp.segments.condition.evaluate import MISSING, json_equal, lookup
from services.cdp.segments.model import check_condition, segment_id

if TYPE_CHECKING:
    import asyncpg

    from services.cdp.collector import Collected

log = logging.getLogger("services.cdp.mapping")
ALLOWED_TARGETS = ("data", "traits", "pii", "ids", "stats", "segments", "interests", "consents",
                   "aux", "misc", "trash")
EQUALS, EQUALS_IF_NOT_EXISTS, APPEND = 0, 1, 2
MAPPING_SOURCES = ("event", "profile")
ByType = dict[str, list[tuple["MappingIn", t.Condition | None]]]


def _path(value: str, source: str) -> str:
    return value[len(source) + 1:] if value.startswith(f"{source}@") else value


class ValueRef(BaseModel):
    """`{"value": "properties.email"}` (the `event@` / `profile@` prefix is optional)."""

    model_config = ConfigDict(extra="forbid")
    value: str = Field(min_length=1, max_length=500)


class Rule(BaseModel):
    """One copy: `{event: {value}, op, profile: {value}}`."""

    model_config = ConfigDict(extra="forbid")
    event: ValueRef
    op: int
    profile: ValueRef

    @field_validator("op")
    @classmethod
    def _op(cls, value: int) -> int:
        if value not in (EQUALS, EQUALS_IF_NOT_EXISTS, APPEND):
            raise ValueError("op must be 0 (equals), 1 (equals if not exists) or 2 (append)")
        return value

    @cached_property
    def source(self) -> tuple[str, ...]:
        """The event path, split once."""
        return tuple(self.event.value.split("."))

    @cached_property
    def target(self) -> tuple[str, ...]:
        """The profile path, split once."""
        return tuple(self.profile.value.split("."))

    @model_validator(mode="after")
    def _target(self) -> Rule:
        self.event.value = _path(self.event.value, "event")
        self.profile.value = _path(self.profile.value, "profile")
        head = self.profile.value.split(".")[0]
        if head not in ALLOWED_TARGETS or "" in self.profile.value.split("."):
            raise ValueError(f"profile.value {self.profile.value!r} is not an allowed target; "
                             f"it must start with one of {', '.join(ALLOWED_TARGETS)}")
        return self


class TypeRef(BaseModel):
    """`event_type: {id, name}` (or just the type as a string)."""

    model_config = ConfigDict(extra="allow")
    id: str = Field(min_length=1, max_length=200)
    name: str = ""


class MappingIn(BaseModel):
    """A mapping record: `{id?, name, event_type, enabled, config: {condition?},
    event_to_profile: [...], tags}`."""

    model_config = ConfigDict(extra="forbid")
    id: str | None = Field(default=None, min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    event_type: TypeRef
    enabled: bool = True
    config: dict[str, Any] = Field(default_factory=dict)
    event_to_profile: list[Rule] = Field(min_length=1, max_length=200)
    tags: list[str] = Field(default_factory=list)

    @field_validator("event_type", mode="before")
    @classmethod
    def _type(cls, value: Any) -> Any:
        return {"id": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check(self) -> MappingIn:
        self.event_type.id = normalise_type(self.event_type.id)
        cond = self.config.get("condition")
        if cond is not None and not isinstance(cond, str):
            raise ValueError("config.condition must be a condition string")
        return self

    @property
    def mapping_id(self) -> str:
        """The given id, else the name's."""
        return self.id or segment_id(self.name)

    def parsed(self) -> t.Condition | None:
        """config.condition parsed (event@ and profile@ fields); FieldError with the column."""
        cond = self.config.get("condition")
        return check_condition(cond, "config.condition", MAPPING_SOURCES) if cond else None


def _empty(value: Any) -> bool:
    return value is MISSING or value is None or (
        isinstance(value, str | list | dict) and len(value) == 0)


def _set(doc: dict[str, Any], path: list[str], value: Any) -> bool:
    for key in path[:-1]:
        nxt = doc.setdefault(key, {})
        if not isinstance(nxt, dict):
            return False
        doc = nxt
    doc[path[-1]] = value
    return True


def apply_rule(profile: dict[str, Any], event: dict[str, Any], rule: Rule) -> str | None:
    """Apply one rule in place; returns a warning when it was skipped."""
    value = lookup(event, rule.source)
    if _empty(value):
        return f"event value {rule.event.value!r} is empty; {rule.profile.value!r} not changed"
    current = lookup(profile, rule.target)
    if rule.op == EQUALS_IF_NOT_EXISTS and not (current is MISSING or current is None):
        return None
    if rule.op == APPEND:
        if isinstance(value, dict):
            return f"event value {rule.event.value!r} is an object; append takes scalars or lists"
        new = list(current) if isinstance(current, list) else (
            [] if current is MISSING or current is None else [current])
        for v in value if isinstance(value, list) else [value]:
            # JSON equality, as jsonb's in the SQL engine: 1 == 1.0, but True is not 1.
            if not any(json_equal(v, old) for old in new):
                new.append(copy.deepcopy(v) if isinstance(v, dict | list) else v)
        value = new
    elif isinstance(value, dict | list):  # the profile must not share objects with the event
        value = copy.deepcopy(value)
    if not _set(profile, list(rule.target), value):
        return f"{rule.profile.value!r} runs through a value that is not an object; not changed"
    return None


def apply_mappings(profile: dict[str, Any], event: dict[str, Any],
                   mappings: list[tuple[MappingIn, t.Condition | None]]) -> list[str]:
    """Apply every mapping of the event's type whose condition holds; returns the warnings."""
    warnings = []
    for m, cond in mappings:
        if cond is not None and not evaluate(cond, {"event": event, "profile": profile}):
            continue
        for rule in m.event_to_profile:
            if (w := apply_rule(profile, event, rule)) is not None:
                warnings.append(f"mapping {m.mapping_id}: {w}")
    return warnings


def loaded(rows: list[Any]) -> ByType:
    """Stored mapping rows by event type, parsed once."""
    out: ByType = {}
    for r in rows:
        m = MappingIn.model_validate(r["record"])
        out.setdefault(m.event_type.id, []).append((m, m.parsed()))
    return out


async def apply_live(pool: asyncpg.Pool, collected: Collected) -> int:
    """Map a collected payload's events onto its profile; returns how many rules applied."""
    from services.cdp.mapping_store import MappingStore

    store = MappingStore(pool)
    types = sorted({e.type for e in collected.events})
    by_type = loaded(await store.for_types(types))
    if not by_type:
        return 0
    events = [e.document() for e in collected.events if e.type in by_type]
    return await store.apply_to_profile(collected.profile_id, events, by_type)
