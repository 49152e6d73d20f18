"""The `heartbeat` job type, and the pass both the daemon's jobs and the one-shot command run."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from services.cdp.heartbeat.es import run_es
from services.cdp.heartbeat.params import HeartbeatParams
from services.cdp.heartbeat.pg import HeartbeatResult, PageHook, run_pg
from services.cdp.resources import CdpResources
from supervisor.jobtypes import JobContext, JobDefaults

log = logging.getLogger("services.cdp.heartbeat")
COUNTS = ("examined", "emitted", "stored", "pages")


def with_page_size(params: HeartbeatParams, resources: CdpResources) -> HeartbeatParams:
    """The family's page size unless the job data sets its own."""
    if "page_size" in params.model_fields_set:
        return params
    return params.model_copy(update={"page_size": resources.settings.heartbeat_page_size})


async def heartbeat_pass(resources: CdpResources, params: HeartbeatParams, now: datetime, *,
                         after: str = "", on_page: PageHook | None = None,
                         should_stop: Any = None) -> HeartbeatResult:
    """One pass on Elasticsearch when configured, else on PostgreSQL."""
    params = with_page_size(params, resources)
    if resources.elastic is not None:
        return await run_es(resources.elastic, resources.store, params, now, on_page=on_page,
                            should_stop=should_stop)
    return await run_pg(resources.store, params, now, after=after, on_page=on_page,
                        should_stop=should_stop)


class Heartbeat:
    """Emits session-inactive, session-closed, visit-ended, profile-inactive (or queues
    profiles for segmentation) for what went quiet, as QUALIFY_BY says."""

    name = "heartbeat"
    payload_model = HeartbeatParams
    # Helm ran the container with backoffLimit 2; a pass is bounded by its RANGE.
    defaults = JobDefaults(retry_count=2, retry_interval=60, timeout=3600)

    async def run(self, ctx: JobContext[CdpResources],
                  payload: HeartbeatParams) -> dict[str, Any]:
        """One pass; resumes after the last finished page of an interrupted attempt."""
        state = ctx.checkpoint_state or {}
        now = datetime.fromisoformat(state["now"]) if "now" in state else datetime.now(UTC)
        done = {k: int(state.get(k, 0)) for k in COUNTS}

        async def saved(examined: int, after: str) -> None:
            # emitted counts of an attempt cut short between pages are not kept; examined is
            await ctx.checkpoint({"now": now.isoformat(), "after": after,
                                  **done, "examined": done["examined"] + examined})
            await ctx.progress(done["examined"] + examined, None, "subjects examined")

        result = await heartbeat_pass(ctx.resources, payload, now, after=state.get("after", ""),
                                      on_page=saved, should_stop=ctx.should_stop)
        if "stopped_after" in result.extra:
            await ctx.checkpoint({"now": now.isoformat(), "after": result.after,
                                  **{k: done[k] + getattr(result, k) for k in COUNTS}})
            ctx.stop()
        for k in COUNTS:
            setattr(result, k, getattr(result, k) + done[k])
        report = result.report(payload)
        log.info("heartbeat pass", extra={"action": "cdp_heartbeat", "job": str(ctx.uuid),
                                          "qualify_by": payload.qualify_by,
                                          "examined": result.examined,
                                          "emitted": result.emitted})
        return report
