"""The tracker payload of POST /track, validated as a whole and then event by event."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from services.cdp.model import normalise_type

MAX_EVENTS = 1000


class Ref(BaseModel):
    """`{"id": ...}` as the payload names its source, session and profile."""

    model_config = ConfigDict(extra="allow")
    id: str = Field(min_length=1, max_length=200)


class OptionalRef(BaseModel):
    """A session or profile reference whose id may be left out (a new one is made)."""

    model_config = ConfigDict(extra="allow")
    id: str | None = Field(default=None, min_length=1, max_length=200)


class TrackEvent(BaseModel):
    """One event of the payload: its type (normalised), properties and options."""

    model_config = ConfigDict(extra="allow")
    type: str = Field(max_length=200)
    properties: dict[str, Any] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    context: dict[str, Any] = Field(default_factory=dict)

    @field_validator("type")
    @classmethod
    def _normalise(cls, value: str) -> str:
        value = normalise_type(value)
        if not value:
            raise ValueError("an event type is required, e.g. 'page-view'")
        return value


class TrackerPayload(BaseModel):
    """The tracker payload; `events` stay raw here so each is judged on its own."""

    model_config = ConfigDict(extra="allow")
    source: Ref
    session: OptionalRef | None = None
    profile: OptionalRef | None = None
    context: dict[str, Any] = Field(default_factory=dict)
    properties: dict[str, Any] = Field(default_factory=dict)
    events: list[Any] = Field(min_length=1, max_length=MAX_EVENTS)


class PayloadError(ValueError):
    """A payload refused as a whole: the field (dotted path) and what is wrong with it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _where(prefix: str, loc: tuple[int | str, ...]) -> str:
    path = prefix
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def describe(exc: ValidationError, prefix: str = "") -> tuple[str, str]:
    """The first problem of a validation error as (field path, sentence)."""
    err = exc.errors()[0]
    field = _where(prefix, tuple(err["loc"]))
    got = "" if err["type"] == "missing" else f" (got {err.get('input')!r})"
    return field, f"{err['msg']}{got}"


def parse_payload(body: Any) -> TrackerPayload:
    """The payload, or PayloadError naming the first bad field outside `events[i]`."""
    if not isinstance(body, dict):
        raise PayloadError("body", "the tracker payload must be a JSON object")
    try:
        return TrackerPayload.model_validate(body)
    except ValidationError as exc:
        field, message = describe(exc)
        raise PayloadError(field, message) from None


def parse_events(raw: list[Any]) -> tuple[list[tuple[int, TrackEvent]], list[dict[str, Any]]]:
    """(index, event) for every good event, and {index, field, error} for every refused one."""
    good: list[tuple[int, TrackEvent]] = []
    refused: list[dict[str, Any]] = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            refused.append({"index": index, "field": f"events[{index}]",
                            "error": "an event must be an object with a 'type'"})
            continue
        try:
            good.append((index, TrackEvent.model_validate(item)))
        except ValidationError as exc:
            field, message = describe(exc, f"events[{index}]")
            refused.append({"index": index, "field": field, "error": message})
    return good, refused
