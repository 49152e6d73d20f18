"""Post-event segmentation: after a payload is collected, add the segments its profile now
matches (only segments listening to the payload's event types; never removes)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from services.cdp.segments.condition import evaluate
from services.cdp.segments.condition import tree as t
from services.cdp.segments.model import check_condition
from services.cdp.segments.store import SegmentStore

if TYPE_CHECKING:
    from services.cdp.collector import Collected
    from services.cdp.segments.resources import SegmentsResources

log = logging.getLogger("services.cdp.segments")


@lru_cache(maxsize=1024)
def _parsed(text: str) -> t.Condition:
    return check_condition(text, "condition")


class PostEvent:
    """The collector hook: mapping first (it may change traits), then segmentation."""

    def __init__(self, res: SegmentsResources) -> None:
        self.res = res
        self.store = SegmentStore(res.pool)

    async def __call__(self, collected: Collected) -> None:
        """Map the payload's events onto the profile, then segment the profile."""
        from services.cdp.mapping import apply_live

        await apply_live(self.res.pool, collected)
        await self.segment(collected.profile_id, [e.type for e in collected.events])

    async def segment(self, profile_id: str, event_types: list[str]) -> list[str]:
        """Add the matching listening segments to one profile; returns the ids added."""
        segments = await self.store.for_event_types(sorted(set(event_types)))
        if not segments:
            return []
        doc = await self.store.profile_doc(profile_id)
        if doc is None:
            return []
        now = datetime.now(UTC)
        hits = [s["id"] for s in segments if self._holds(s, doc, now)]
        if not hits:
            return []
        out = await self.store.post_event_add(
            profile_id, hits, self.res.settings.enable_segmentation_wf_triggers)
        added: list[str] = list(out["added"])
        if added:
            log.info("segments added", extra={"action": "segment_added_post_event",
                                              "profile": profile_id, "segments": added})
        return added

    @staticmethod
    def _holds(segment: Any, doc: dict[str, Any], now: datetime) -> bool:
        try:
            cond = _parsed(segment["condition"])
        except ValueError:  # saved before a grammar change: skip it, loudly
            log.warning("segment condition no longer parses", extra={
                "action": "segment_condition_bad", "segment": segment["id"]})
            return False
        return evaluate(cond, {"profile": doc}, now)
