"""The customer data model (Tracardi 0.8 field names): event, session and profile documents."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Source of the events the collector adds itself (profile-created, session-opened, ...).
INTERNAL_SOURCE_ID = "@internal-7d1a2c3b"
# Source of the heartbeat's events; the events table derives `activity = false` from the prefix.
HEARTBEAT_SOURCE_ID = "@heartbeats-5e0b9f4a"
HEARTBEAT_PREFIX = "@heartbeats-"

PROFILE_CREATED = "profile-created"
SESSION_OPENED = "session-opened"
VISIT_STARTED = "visit-started"
VISIT_ENDED = "visit-ended"
PROFILE_INACTIVE = "profile-inactive"

# Session statuses (metadata.status) the visit lifecycle moves between.
ACTIVE, STARTED, ENDED = "active", "started", "ended"


def normalise_type(value: str) -> str:
    """An event type as Tracardi stores it: trimmed, lower case, spaces become '-'."""
    return value.strip().lower().replace(" ", "-")


def dumps(doc: Any) -> str:
    """A document as compact JSON text."""
    return json.dumps(doc, separators=(",", ":"), default=str)


def iso(moment: datetime) -> str:
    """A timestamp as the documents hold it (ISO 8601, UTC)."""
    return moment.isoformat()


def is_activity(source_id: str | None) -> bool:
    """Whether an event from this source counts as customer activity."""
    return source_id is None or not source_id.startswith(HEARTBEAT_PREFIX)


@dataclass
class Event:
    """One event as stored: the indexed fields plus the whole document."""

    id: str
    type: str
    insert_time: datetime
    source_id: str | None
    session_id: str | None
    profile_id: str | None
    properties: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    status: str = "collected"
    context: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    # The document as JSON text when it is known already (a history line kept as it came).
    raw: str | None = None

    @property
    def persistent(self) -> bool:
        """False for an ephemeral event (`options.saveEvent == false`, `config.save == false`)."""
        return self.options.get("saveEvent", True) is not False and \
            self.options.get("save", True) is not False

    def document(self) -> dict[str, Any]:
        """The event document, field names as Tracardi's `tracardi-event` index has them."""
        doc: dict[str, Any] = {
            **self.extra,
            "id": self.id,
            "type": self.type,
            "name": self.extra.get("name") or self.type.replace("-", " ").title(),
            "metadata": {
                **self.extra.get("metadata", {}),
                "time": {**self.extra.get("metadata", {}).get("time", {}),
                         "insert": iso(self.insert_time)},
                "status": self.status,
                "profile_less": self.profile_id is None,
            },
            "source": {"id": self.source_id},
            "session": {**self.extra.get("session", {}), "id": self.session_id},
            "profile": {"id": self.profile_id} if self.profile_id else None,
            "properties": self.properties,
            "context": self.context,
            "config": self.options,
        }
        doc.setdefault("traits", {})
        doc.setdefault("tags", {"values": [], "count": 0})
        return doc


def session_document(session_id: str, profile_id: str | None, now: datetime,
                     status: str = ACTIVE, context: dict[str, Any] | None = None) -> dict[str, Any]:
    """A new session document."""
    return {
        "id": session_id,
        "profile": {"id": profile_id} if profile_id else None,
        "metadata": {"time": {"insert": iso(now), "update": iso(now), "timestamp": now.timestamp()},
                     "status": status},
        "context": context or {},
        "properties": {},
        "traits": {},
    }


def profile_document(profile_id: str, now: datetime) -> dict[str, Any]:
    """A new profile document (active, no visits yet)."""
    return {
        "id": profile_id,
        "ids": [profile_id],
        "metadata": {"time": {"insert": iso(now), "update": iso(now), "segmentation": None,
                              "visit": {"last": None, "current": None, "count": 0, "tz": None}}},
        "stats": {},
        "traits": {},
        "segments": [],
        "interests": {},
        "consents": {},
        "active": True,
        "aux": {},
        "data": {},
    }
