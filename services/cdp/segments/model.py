"""Segment records: what the API and CLI accept, checked when saved (condition included)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.cdp.model import normalise_type
from services.cdp.segments.condition import ConditionError, parse
from services.cdp.segments.condition import tree as t

# Segment conditions run on the profiles table (and on one profile after an event).
SEGMENT_SOURCES = ("profile",)


def segment_id(name: str) -> str:
    """The id a segment's name gives: lower case, spaces as '-' ("Frequent visitor")."""
    return name.strip().replace(" ", "-").lower()


class FieldError(ValueError):
    """Bad input naming its field (dotted) and the fix; the API answers 400 with it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def check_condition(text: str, field: str, sources: tuple[str, ...] = SEGMENT_SOURCES
                    ) -> t.Condition:
    """The parsed condition, or FieldError naming the field and the column."""
    try:
        return parse(text, sources)
    except ConditionError as exc:
        raise FieldError(field, f"{exc} in {text!r}") from None


class SegmentIn(BaseModel):
    """A segment as written: `{name, description, eventType[], condition, enabled}`, or a
    workflow segment (`type: "workflow"`, `workflow`: a job type) instead of a condition."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    event_type: list[str] = Field(default_factory=list, alias="eventType", max_length=100)
    type: Literal["condition", "workflow"] = "condition"
    condition: str | None = Field(default=None, max_length=10_000)
    workflow: str | None = Field(default=None, max_length=200)
    enabled: bool = True

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not segment_id(value):
            raise ValueError("a segment needs a name, e.g. 'Frequent visitor'")
        return value.strip()

    @field_validator("event_type")
    @classmethod
    def _types(cls, value: list[str]) -> list[str]:
        return sorted({normalise_type(v) for v in value if normalise_type(v)})

    @model_validator(mode="after")
    def _decider(self) -> SegmentIn:
        if self.type == "condition":
            if not self.condition:
                raise ValueError("condition is required, e.g. 'profile@stats.visits > 10'")
            if self.workflow:
                raise ValueError("workflow is only for type 'workflow'")
        elif not self.workflow or self.condition:
            raise ValueError("a workflow segment names its job type in `workflow` and has no "
                             "condition")
        return self

    @property
    def id(self) -> str:
        """The segment id added to profiles."""
        return segment_id(self.name)

    def parsed(self) -> t.Condition | None:
        """The condition's tree; FieldError when it does not parse or reads event@/session@."""
        if self.condition is None:
            return None
        return check_condition(self.condition, "condition")


def segment_out(row: Any) -> dict[str, Any]:
    """A stored segment in the API's shape."""
    out = {"id": row["id"], "name": row["name"], "description": row["description"],
           "eventType": list(row["event_type"]), "type": row["kind"],
           "condition": row["condition"], "enabled": row["enabled"]}
    if row["kind"] == "workflow":
        out["workflow"] = row["workflow"]
    return out
