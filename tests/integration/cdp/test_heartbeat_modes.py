"""Every QUALIFY_BY mode on a small hand-written timeline, with the expected events written out.

NOW is 2026-03-10 12:00 UTC. A heartbeat-source event never counts as activity; a session whose
last activity is exactly NOW - SKIP_SECONDS is not yet inactive (the rule is strictly before).
"""

from __future__ import annotations

import asyncio

from services.cdp.store import CdpStore
from tests.integration.cdp.timeline import HB, INTERNAL, NOW, ago, at, beat, emitted, ev, load

INACTIVE = {"qualify_by": "inactive-session", "range": "now-1h|now", "skip_seconds": 900,
            "event_type": "session-inactive"}


async def session_timeline(cdp: CdpStore) -> None:
    await load(
        cdp,
        ev("s-quiet", "p1", "page-view", at(11, 10)), ev("s-quiet", "p1", "page-view", at(11, 20)),
        ev("s-busy", "p2", "page-view", at(11, 30)), ev("s-busy", "p2", "page-view", at(11, 50)),
        ev("s-edge", "p3", "page-view", at(11, 45)),               # exactly at SKIP_SECONDS
        ev("s-beat", "p4", "page-view", at(11, 10)),
        ev("s-beat", "p4", "heartbeat", at(11, 55), HB),            # not activity
        ev("s-flagged", "p5", "page-view", at(11, 5)),
        ev("s-flagged", "p5", "session-inactive", at(11, 30), HB),  # already flagged
        ev("s-old", "p6", "page-view", at(10, 0)),                  # outside RANGE
        ev("s-hbonly", "p7", "heartbeat", at(11, 20), HB),          # no activity at all
    )


async def test_inactive_session(cdp: CdpStore) -> None:
    await session_timeline(cdp)
    result = await beat(cdp, **INACTIVE)
    assert await emitted(cdp, "session-inactive") == [("s-beat", "p4"), ("s-quiet", "p1")]
    report = result.report(result_params(INACTIVE))
    assert report["examined"] == {"sessions": 6}
    assert report["emitted"] == {"session-inactive": 2}
    assert result.pages == 4  # pages of 2: 2, 2, 2, then an empty one


async def test_session_not_closed_and_its_old_spelling(cdp: CdpStore) -> None:
    await session_timeline(cdp)
    data = {"range": "now-1h|now", "skip_seconds": 900}
    first = await beat(cdp, qualify_by="session-not-closed", **data)
    assert await emitted(cdp, "session-closed") == [
        ("s-beat", "p4"), ("s-flagged", "p5"), ("s-quiet", "p1")]
    assert first.emitted == 3
    again = await beat(cdp, qualify_by="not-closed-session", **data)
    assert again.emitted == 0 and again.examined == 6


async def test_inactive_session_runs_twice_and_emits_once(cdp: CdpStore) -> None:
    await session_timeline(cdp)
    assert (await beat(cdp, **INACTIVE)).emitted == 2
    assert (await beat(cdp, **INACTIVE)).emitted == 0
    later = await beat(cdp, now=NOW.replace(minute=7), **INACTIVE)  # the next run, 7 min on
    assert later.emitted == 2  # s-edge and s-busy are now quiet for longer than SKIP_SECONDS
    assert len(await emitted(cdp, "session-inactive")) == 2  # (the ones emitted at NOW)


async def test_overlapping_runs_at_once_emit_once(cdp: CdpStore) -> None:
    await session_timeline(cdp)
    runs = await asyncio.gather(*(beat(cdp, page_size=1, **INACTIVE) for _ in range(4)))
    assert sum(r.emitted for r in runs) == 2
    assert await emitted(cdp, "session-inactive") == [("s-beat", "p4"), ("s-quiet", "p1")]


async def test_new_activity_after_the_flag_makes_the_session_qualify_again(
        cdp: CdpStore) -> None:
    await session_timeline(cdp)
    await beat(cdp, **INACTIVE)
    await load(cdp, ev("s-quiet", "p1", "click", at(12, 5)))
    now2 = NOW.replace(hour=12, minute=30)
    assert (await beat(cdp, now=now2, **INACTIVE)).emitted == 3  # s-quiet, s-busy, s-edge
    async with cdp.pool.acquire() as conn:
        flags = await conn.fetch("SELECT insert_time FROM cdp_events WHERE session_id = "
                                 "'s-quiet' AND type = 'session-inactive' ORDER BY 1")
    assert [r["insert_time"] for r in flags] == [NOW, now2]


VISIT = {"qualify_by": "visit-end", "range": "now-1h|now", "skip_seconds": 900,
         "open_event_type": "visit-started", "close_event_type": "visit-ended"}


async def visit_timeline(cdp: CdpStore) -> None:
    await load(
        cdp,
        ev("v-open", "p1", "visit-started", at(11, 10), INTERNAL),
        ev("v-open", "p1", "page-view", at(11, 10)),
        ev("v-closed", "p2", "visit-started", at(11, 5), INTERNAL),
        ev("v-closed", "p2", "page-view", at(11, 6)),
        ev("v-closed", "p2", "visit-ended", at(11, 20), HB),
        # active again after its visit-ended: a new visit, quiet again, must end again
        ev("v-again", "p3", "visit-started", at(11, 2), INTERNAL),
        ev("v-again", "p3", "page-view", at(11, 3)),
        ev("v-again", "p3", "visit-ended", at(11, 20), HB),
        ev("v-again", "p3", "visit-started", at(11, 25), INTERNAL),
        ev("v-again", "p3", "page-view", at(11, 26)),
        ev("v-busy", "p4", "visit-started", at(11, 40), INTERNAL),
        ev("v-busy", "p4", "page-view", at(11, 50)),
        ev("v-noopen", "p5", "page-view", at(11, 10)),
    )


async def test_visit_end(cdp: CdpStore) -> None:
    await visit_timeline(cdp)
    result = await beat(cdp, **VISIT)
    assert await emitted(cdp, "visit-ended") == [("v-again", "p3"), ("v-open", "p1")]
    assert (result.examined, result.emitted, result.stored) == (5, 2, 2)
    for sid, status in (("v-open", "ended"), ("v-again", "ended"), ("v-busy", "active")):
        row = await cdp.session(sid)
        assert row is not None and (row["status"], row["doc"]["metadata"]["status"]) == \
            (status, status)
    assert (await beat(cdp, **VISIT)).emitted == 0


async def test_ephemeral_visit_end_emits_without_storing_and_only_once(cdp: CdpStore) -> None:
    await visit_timeline(cdp)
    first = await beat(cdp, ephemeral="yes", **VISIT)
    assert (first.emitted, first.stored) == (2, 0)
    assert await emitted(cdp, "visit-ended") == []
    session = await cdp.session("v-open")
    assert session is not None and session["status"] == "ended"
    assert (await beat(cdp, ephemeral="yes", **VISIT)).emitted == 0


PROFILE = {"qualify_by": "inactive-profile", "range": "now-1y|now", "skip_seconds": 30 * 86400}


async def test_inactive_profile(cdp: CdpStore) -> None:
    await load(
        cdp,
        ev("a1", "p-idle", "page-view", ago(days=60)),
        ev("b1", "p-recent", "page-view", ago(days=2)),
        ev("c1", "p-beat", "page-view", ago(days=60)),
        ev("c1", "p-beat", "heartbeat", ago(days=1), HB),
        ev("d1", "p-flagged", "page-view", ago(days=60)),
        ev("d1", "p-flagged", "profile-inactive", ago(days=50), HB),
    )
    result = await beat(cdp, **PROFILE)
    assert await emitted(cdp, "profile-inactive") == [(None, "p-beat"), (None, "p-idle")]
    assert result.report(result_params(PROFILE))["examined"] == {"profiles": 4}
    for pid, active in (("p-idle", False), ("p-beat", False), ("p-recent", True)):
        row = await cdp.profile(pid)
        assert row is not None and (row["active"], row["doc"]["active"]) == (active, active)
    async with cdp.pool.acquire() as conn:
        reason = await conn.fetchval(
            "SELECT doc->'properties'->>'reason' FROM cdp_events WHERE profile_id = 'p-idle' "
            "AND type = 'profile-inactive'")
    assert reason == "no activity since 2026-01-09T12:00:00Z (SKIP_SECONDS=2592000)"
    assert (await beat(cdp, **PROFILE)).emitted == 0


SEGMENT = {"qualify_by": "profile-segmentation", "range": "now-1M|now",
           "no_events_within_last": "20m"}


async def test_profile_segmentation_queues_idle_profiles(cdp: CdpStore) -> None:
    await load(
        cdp,
        ev("s1", "a", "page-view", at(11, 0)),
        ev("s2", "b", "page-view", at(11, 50)),           # active within the last 20 minutes
        ev("s3", "c", "page-view", at(11, 0)),
        ev("s3", "c", "heartbeat", at(11, 55), HB),       # not activity
        ev("s4", "d", "page-view", at(11, 0)),
    )
    async with cdp.pool.acquire() as conn:
        await conn.execute("UPDATE cdp_profiles SET segmentation_time = $1 WHERE id = 'd'",
                           at(11, 30))
    result = await beat(cdp, **SEGMENT)
    assert result.report(result_params(SEGMENT))["queued"] == {"segmentation_queue": 2}
    async with cdp.pool.acquire() as conn:
        rows = await conn.fetch("SELECT profile_id, last_activity, reason FROM segmentation_queue "
                                "ORDER BY profile_id")
    assert [(r["profile_id"], r["last_activity"], r["reason"]) for r in rows] == [
        ("a", at(11, 0), "no activity within 20m"), ("c", at(11, 0), "no activity within 20m")]
    assert (await beat(cdp, **SEGMENT)).emitted == 0


HAS_EVENT = {"qualify_by": "has-event", "range": "now-1d|now", "skip_seconds": 7200,
             "event_type": "heartbeat"}


async def test_has_event(cdp: CdpStore) -> None:
    await load(
        cdp,
        ev("s1", "h1", "page-view", at(10, 0)),
        ev("s2", "h2", "page-view", at(11, 0)), ev("s2", "h2", "heartbeat", at(11, 0), HB),
        ev("s3", "h3", "page-view", at(11, 0)), ev("s3", "h3", "heartbeat", at(9, 30), HB),
    )
    assert (await beat(cdp, **HAS_EVENT)).emitted == 2
    assert await emitted(cdp, "heartbeat") == [(None, "h1"), (None, "h3")]
    assert (await beat(cdp, **HAS_EVENT)).emitted == 0
    # Past SKIP_SECONDS every profile with activity in range beats again, once.
    later = NOW.replace(hour=14, minute=1)
    assert (await beat(cdp, now=later, **HAS_EVENT)).emitted == 3
    assert (await beat(cdp, now=later, **HAS_EVENT)).emitted == 0


def result_params(data: dict[str, object]):  # type: ignore[no-untyped-def]
    from services.cdp.heartbeat.params import HeartbeatParams

    return HeartbeatParams.model_validate(data)


async def test_a_range_scan_touches_only_its_months(cdp: CdpStore) -> None:
    from services.cdp.datemath import parse_range
    from services.cdp.heartbeat.pg import page_args
    from services.cdp.store import q

    await load(cdp, ev("old", "p1", "page-view", at(9, 0, day=15, month=1)),
               ev("new", "p2", "page-view", at(11, 0)))
    params = result_params(INACTIVE)
    async with cdp.pool.acquire() as conn:
        plan = "\n".join(r[0] for r in await conn.fetch(
            "EXPLAIN " + q("cdp_hb_inactive_session"),
            *page_args(params, parse_range(params.range, NOW), NOW, "")))
    assert "cdp_events_2026_03" in plan
    assert "cdp_events_2026_01" not in plan


async def test_the_job_resumes_after_its_last_page_with_the_same_now(cdp: CdpStore) -> None:
    import uuid
    from typing import Any

    from services.cdp.heartbeat.job import Heartbeat
    from services.cdp.resources import CdpResources
    from services.cdp.settings import CdpSettings
    from supervisor.jobtypes import JobContext

    await session_timeline(cdp)
    saved: list[dict[str, Any]] = []

    async def save(state: dict[str, Any]) -> None:
        saved.append(state)

    resources = CdpResources(cdp, CdpSettings.model_validate({"heartbeat_page_size": 2}))
    state = {"now": NOW.isoformat(), "after": "s-edge", "examined": 3, "emitted": 1,
             "stored": 1, "pages": 2}
    ctx = JobContext(uuid.uuid4(), "heartbeat", 2, resources, db=cdp.pool,
                     checkpoint_state=state, saver=save)
    report = await Heartbeat().run(ctx, result_params(INACTIVE))
    # After s-edge come s-flagged, s-hbonly, s-quiet: only s-quiet qualifies.
    assert await emitted(cdp, "session-inactive") == [("s-quiet", "p1")]
    assert report["examined"] == {"sessions": 3 + 3}
    assert report["emitted"] == {"session-inactive": 1 + 1}
    assert report["now"] == NOW.isoformat()
    assert saved and all(s["now"] == NOW.isoformat() for s in saved)
