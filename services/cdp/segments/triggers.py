"""Trigger rules (`type: segment-add`): when a segment is added to a profile, create one job.

A rule's action compiles, when saved, to a job type, a data template and a retry policy; the
statement that adds the segment creates the job (cdp_trigger_data fills the template in), with a
uuid derived from (change, rule): each added segment fires each rule exactly once, whichever
process added it. Honoured only with ENABLE_SEGMENTATION_WF_TRIGGERS=yes.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.cdp.model import normalise_type
from services.cdp.segments.model import segment_id
from services.cdp.segments.resources import SegmentsResources
from services.cdp.tracker import TrackerPayload, TrackEvent
from supervisor.errors import PermanentError
from supervisor.jobtypes import JobContext, JobDefaults

log = logging.getLogger("services.cdp.segments.triggers")
TRIGGER_SOURCE_ID = "@segment-triggers"
EVENT_JOB, WEBHOOK_JOB = "segment_trigger_event", "segment_trigger_webhook"


class JobAction(BaseModel):
    """Create a job of `job_type`; top-level strings of `data` such as 'profile@traits.email',
    '@profile_id', '@segment', '@rule' are filled in from the profile and the change."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["job"]
    job_type: str = Field(min_length=1, max_length=200)
    data: dict[str, Any] = Field(default_factory=dict)
    retry_count: int = Field(default=0, ge=0, le=100)
    retry_interval: int = Field(default=30, ge=0, le=86_400)


class EventAction(BaseModel):
    """Collect an event of `event_type` for the profile (as if a tracker had sent it)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["event"]
    event_type: str = Field(min_length=1, max_length=200)
    properties: dict[str, Any] = Field(default_factory=dict)

    @field_validator("event_type")
    @classmethod
    def _norm(cls, value: str) -> str:
        if not normalise_type(value):
            raise ValueError("an event type is required, e.g. 'segment-welcome'")
        return normalise_type(value)


class WebhookAction(BaseModel):
    """POST {rule, segment, change, profile} as JSON to `url`; retried by the job's policy."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["webhook"]
    url: str = Field(pattern=r"^https?://\S+$", max_length=2000)
    timeout: float = Field(default=10.0, gt=0, le=300)
    headers: dict[str, str] = Field(default_factory=dict)
    retry_count: int = Field(default=3, ge=0, le=100)
    retry_interval: int = Field(default=30, ge=0, le=86_400)


Action = Annotated[JobAction | EventAction | WebhookAction, Field(discriminator="type")]


class SegmentRef(BaseModel):
    """`segment: {id, name}`; the id is what the rule listens to."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=200)
    name: str = ""


class TriggerIn(BaseModel):
    """A trigger rule: `{id?, name, type: "segment-add", segment: {id}, action, enabled}`."""

    model_config = ConfigDict(extra="forbid")
    id: str | None = Field(default=None, min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    type: Literal["segment-add"] = "segment-add"
    segment: SegmentRef
    action: Action
    enabled: bool = True

    @property
    def rule_id(self) -> str:
        """The given id, else the name's (lower case, spaces as '-')."""
        return self.id or segment_id(self.name)

    def compiled(self) -> tuple[str, dict[str, Any], int, int]:
        """(job type, data template, retry_count, retry_interval) of the action."""
        a = self.action
        if isinstance(a, JobAction):
            return a.job_type, a.data, a.retry_count, a.retry_interval
        refs = {"profile_id": "@profile_id", "segment": "@segment", "rule": "@rule",
                "change": "@change"}
        if isinstance(a, EventAction):
            return EVENT_JOB, {"type": a.event_type, "properties": a.properties, **refs}, 3, 30
        return (WEBHOOK_JOB, {"url": a.url, "timeout": a.timeout, "headers": a.headers,
                              "profile": "profile@", **refs}, a.retry_count, a.retry_interval)


def trigger_out(row: Any) -> dict[str, Any]:
    """A stored rule in the API's shape."""
    return {"id": row["id"], "name": row["name"], "type": row["type"],
            "segment": {"id": row["segment_id"]}, "action": row["action"],
            "enabled": row["enabled"], "job_type": row["job_type"]}


class FiredPayload(BaseModel):
    """What every fired job carries about its cause."""

    model_config = ConfigDict(extra="forbid")
    profile_id: str = Field(min_length=1)
    segment: str
    rule: str
    change: int


class EventPayload(FiredPayload):
    """segment_trigger_event's job data."""

    type: str = Field(min_length=1)
    properties: dict[str, Any] = Field(default_factory=dict)


class WebhookPayload(FiredPayload):
    """segment_trigger_webhook's job data."""

    url: str = Field(pattern=r"^https?://\S+$")
    timeout: float = Field(default=10.0, gt=0, le=300)
    headers: dict[str, str] = Field(default_factory=dict)
    profile: dict[str, Any] | None = None


class TriggerEvent:
    """Collect the rule's event for the profile that entered the segment."""

    name = EVENT_JOB
    payload_model = EventPayload
    defaults = JobDefaults(retry_count=3, retry_interval=30, timeout=60)

    async def run(self, ctx: JobContext[SegmentsResources], payload: EventPayload
                  ) -> dict[str, Any]:
        """One event through the collector (post-event hooks included)."""
        from services.cdp.collector import collect

        tracker = TrackerPayload.model_validate({
            "source": {"id": TRIGGER_SOURCE_ID}, "profile": {"id": payload.profile_id},
            "session": {"id": f"segment-trigger-{payload.change}-{payload.rule}"},
            "events": [{"type": payload.type}]})
        event = TrackEvent(type=payload.type, properties={
            **payload.properties, "segment": payload.segment, "rule": payload.rule})
        got = await collect(ctx.resources.cdp, tracker, [(0, event)], [], system=False)
        return {"event": got.events[-1].id, "profile": payload.profile_id}


class TriggerWebhook:
    """POST the change and the profile to the rule's URL."""

    name = WEBHOOK_JOB
    payload_model = WebhookPayload
    defaults = JobDefaults(retry_count=3, retry_interval=30, timeout=330)

    async def run(self, ctx: JobContext[SegmentsResources], payload: WebhookPayload
                  ) -> dict[str, Any]:
        """One POST; a 4xx other than 408/429 will not get better, so it is not retried."""
        body = {"type": "segment-added", "rule": payload.rule, "segment": payload.segment,
                "change": payload.change, "profile": payload.profile}
        async with httpx.AsyncClient(timeout=payload.timeout) as client:
            resp = await client.post(payload.url, json=body, headers=payload.headers)
        if 400 <= resp.status_code < 500 and resp.status_code not in (408, 429):
            raise PermanentError(f"webhook {payload.url} answered {resp.status_code}; "
                                 "fix the URL or the receiver")
        resp.raise_for_status()
        return {"status": resp.status_code}
