"""Delayed events: a task `{timestamp, event}` kept as a job due at `timestamp`; when due, the
event is collected as if it had just arrived (system events and post-event hooks included).

Pending ones are jobs of type `delayed_event`: list them, or cancel one, with the job endpoints
and commands (`supervisor job list --type delayed_event`, `supervisor job cancel UUID`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.cdp.model import normalise_type
from services.cdp.segments.resources import SegmentsResources
from services.cdp.tracker import TrackerPayload, TrackEvent
from supervisor.jobtypes import JobContext, JobDefaults

JOB_TYPE = "delayed_event"
MAX_AHEAD = timedelta(days=366)  # "more than a year ahead is refused"


class Ref(BaseModel):
    """`{"id": ...}`."""

    model_config = ConfigDict(extra="allow")
    id: str = Field(min_length=1, max_length=200)


class ScheduledEvent(BaseModel):
    """The event of a task: type, properties, and the source, session and profile it is for."""

    model_config = ConfigDict(extra="forbid")
    type: str = Field(max_length=200)
    properties: dict[str, Any] = Field(default_factory=dict)
    source: Ref
    session: Ref | None = None
    profile: Ref | None = None
    context: dict[str, Any] = Field(default_factory=dict)

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        if not normalise_type(value):
            raise ValueError("an event type is required, e.g. 'reminder'")
        return normalise_type(value)


class DelayedEvent(BaseModel):
    """The task record: `timestamp` (epoch seconds, or ISO 8601) when it is due, and `event`."""

    model_config = ConfigDict(extra="forbid")
    timestamp: float = Field(ge=0)
    event: ScheduledEvent
    status: str = "pending"

    @field_validator("timestamp", mode="before")
    @classmethod
    def _epoch(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.replace(".", "", 1).isdigit():
            try:
                when = datetime.fromisoformat(value)
            except ValueError:
                raise ValueError("timestamp must be epoch seconds or ISO 8601, e.g. "
                                 "'2025-01-31T09:00:00Z'") from None
            return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
        return value

    @model_validator(mode="after")
    def _not_too_far(self) -> DelayedEvent:
        if self.due - datetime.now(UTC) > MAX_AHEAD:
            raise ValueError("timestamp is more than a year ahead; schedule events at most "
                             "366 days from now")
        return self

    @property
    def due(self) -> datetime:
        """When the event is due (UTC)."""
        return datetime.fromtimestamp(self.timestamp, UTC)


def run_after(task: DelayedEvent, now: datetime | None = None) -> datetime | None:
    """The job's run_after: the due time, or None (at once) when it is already past."""
    now = now or datetime.now(UTC)
    return task.due if task.due > now else None


class DelayedEventJob:
    """Collect the task's event now that it is due."""

    name = JOB_TYPE
    payload_model = DelayedEvent
    defaults = JobDefaults(retry_count=3, retry_interval=30, timeout=60)

    async def run(self, ctx: JobContext[SegmentsResources], payload: DelayedEvent
                  ) -> dict[str, Any]:
        """One event through the collector, as if a tracker had just sent it."""
        from services.cdp.collector import collect

        ev = payload.event
        tracker = TrackerPayload.model_validate({
            "source": ev.source.model_dump(), "context": ev.context,
            "session": ev.session.model_dump() if ev.session else None,
            "profile": ev.profile.model_dump() if ev.profile else None,
            "events": [{"type": ev.type}]})
        track = TrackEvent(type=ev.type, properties=ev.properties)
        got = await collect(ctx.resources.cdp, tracker, [(0, track)], [])
        late = (datetime.now(UTC) - payload.due).total_seconds()
        return {"event": got.events[-1].id, "profile": got.profile_id,
                "session": got.session_id, "late_seconds": round(max(late, 0.0), 3)}
