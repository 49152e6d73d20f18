"""The heartbeat's settings: job data of a daemon job, or the environment of the one-shot run."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from services.cdp.datemath import DateMathError, parse_duration, parse_range
from services.cdp.model import normalise_type

MODES = ("inactive-session", "session-not-closed", "not-closed-session", "visit-end",
         "inactive-profile", "profile-segmentation", "has-event")
# The spellings one mode has had: the job runs the canonical one.
CANONICAL = {"not-closed-session": "session-not-closed"}
# Event types a mode uses when EVENT_TYPE is not given; modes absent here require it.
DEFAULT_EVENT_TYPE = {"session-not-closed": "session-closed",
                      "inactive-profile": "profile-inactive"}
NEEDS_SKIP = frozenset({"inactive-session", "session-not-closed", "visit-end", "inactive-profile",
                        "has-event"})
MAX_SKIP_SECONDS = 10 * 366 * 86400
YES, NO = ("yes", "true", "1", "on"), ("no", "false", "0", "off", "")
ENV_NAMES = ("QUALIFY_BY", "RANGE", "SKIP_SECONDS", "EVENT_TYPE", "OPEN_EVENT_TYPE",
             "CLOSE_EVENT_TYPE", "NO_EVENTS_WITHIN_LAST", "EPHEMERAL")


def _alias(name: str, default: Any = None) -> Any:
    return Field(default=default, validation_alias=AliasChoices(name.lower(), name))


class HeartbeatParams(BaseModel):
    """QUALIFY_BY and its companions, checked the same way for a job and for the environment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    qualify_by: str = Field(default="", validate_default=True,
                            validation_alias=AliasChoices("qualify_by", "QUALIFY_BY"))
    range: str = Field(default="", validate_default=True,
                       validation_alias=AliasChoices("range", "RANGE"))
    skip_seconds: int | None = _alias("SKIP_SECONDS")
    event_type: str | None = _alias("EVENT_TYPE")
    open_event_type: str = _alias("OPEN_EVENT_TYPE", "visit-started")
    close_event_type: str = _alias("CLOSE_EVENT_TYPE", "visit-ended")
    no_events_within_last: str | None = _alias("NO_EVENTS_WITHIN_LAST")
    ephemeral: bool = _alias("EPHEMERAL", False)
    page_size: int = Field(default=1000, ge=1, le=100_000)

    @field_validator("qualify_by", mode="before")
    @classmethod
    def _mode(cls, value: Any) -> Any:
        if value in (None, ""):
            raise ValueError(f"QUALIFY_BY is required; allowed values: {', '.join(MODES)}")
        if value not in MODES:
            raise ValueError(f"QUALIFY_BY={value!r} is not a heartbeat mode; allowed values: "
                             f"{', '.join(MODES)}")
        return value

    @field_validator("range")
    @classmethod
    def _range(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("RANGE is required: 'lo|hi' in Elasticsearch date math, "
                             "e.g. 'now-1h|now'")
        try:
            parse_range(value, datetime.now(UTC))
        except DateMathError as exc:
            raise ValueError(f"RANGE={value!r}: {exc}; write it as 'lo|hi' in Elasticsearch "
                             "date math, e.g. 'now-1h|now'") from None
        return value

    @field_validator("skip_seconds", mode="before")
    @classmethod
    def _skip(cls, value: Any) -> Any:
        text = value.strip() if isinstance(value, str) else value
        if text is None or text == "":
            return None
        whole = (isinstance(text, int) and text >= 0) or (
            isinstance(text, str) and text.isdigit())
        if isinstance(text, bool) or not whole:
            raise ValueError(f"SKIP_SECONDS={value!r} must be a whole number of seconds "
                             f"from 0 to {MAX_SKIP_SECONDS}, e.g. 900")
        if int(text) > MAX_SKIP_SECONDS:
            raise ValueError(f"SKIP_SECONDS={value!r} must be at most {MAX_SKIP_SECONDS}")
        return int(text)

    @field_validator("ephemeral", mode="before")
    @classmethod
    def _yes_no(cls, value: Any) -> Any:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text not in YES + NO:
            raise ValueError(f"EPHEMERAL={value!r}: allowed values are yes or no")
        return text in YES

    @field_validator("event_type")
    @classmethod
    def _type(cls, value: str | None) -> str | None:
        return (normalise_type(value) or None) if value is not None else None

    @field_validator("open_event_type", "close_event_type")
    @classmethod
    def _visit_type(cls, value: str) -> str:
        if not normalise_type(value):
            raise ValueError("OPEN_EVENT_TYPE and CLOSE_EVENT_TYPE must not be empty, "
                             "e.g. visit-started and visit-ended")
        return normalise_type(value)

    @field_validator("no_events_within_last")
    @classmethod
    def _within(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_duration(value)
            except ValueError as exc:
                raise ValueError(f"NO_EVENTS_WITHIN_LAST: {exc}") from None
        return value

    @model_validator(mode="after")
    def _needs(self) -> HeartbeatParams:
        mode = self.mode
        if mode in NEEDS_SKIP and self.skip_seconds is None:
            raise ValueError(f"SKIP_SECONDS is required with QUALIFY_BY={self.qualify_by}: "
                             "seconds of inactivity after the last event, e.g. 900")
        if mode in ("inactive-session", "has-event") and not self.event_type:
            example = "session-inactive" if mode == "inactive-session" else "heartbeat"
            raise ValueError(f"EVENT_TYPE is required with QUALIFY_BY={self.qualify_by}: the "
                             f"event type to emit, e.g. {example}")
        if mode == "profile-segmentation" and not self.no_events_within_last:
            raise ValueError("NO_EVENTS_WITHIN_LAST is required with "
                             "QUALIFY_BY=profile-segmentation, e.g. 20m")
        return self

    @property
    def mode(self) -> str:
        """The canonical QUALIFY_BY (not-closed-session is session-not-closed)."""
        return CANONICAL.get(self.qualify_by, self.qualify_by)

    @property
    def emits(self) -> str:
        """The event type this mode emits (or the queue reason of profile-segmentation)."""
        if self.mode == "visit-end":
            return self.close_event_type
        if self.mode == "profile-segmentation":
            return "segmentation"
        return self.event_type or DEFAULT_EVENT_TYPE[self.mode]

    @property
    def skip(self) -> timedelta:
        """SKIP_SECONDS as a duration (zero when the mode has none)."""
        return timedelta(seconds=self.skip_seconds or 0)

    @property
    def quiet(self) -> timedelta:
        """NO_EVENTS_WITHIN_LAST as a duration."""
        return parse_duration(self.no_events_within_last or "0s")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> HeartbeatParams:
        """The settings from environment variables (only the heartbeat's names are read)."""
        return cls.model_validate({k: env[k] for k in ENV_NAMES if k in env})
