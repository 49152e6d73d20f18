"""The segmentation job on a hand-written set of profiles: exactly the expected ids are added
and removed, the changes are logged, a second run changes nothing, pages resume."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from services.cdp.segments.jobs import Segmentation, SegmentationPayload
from services.cdp.segments.model import FieldError, SegmentIn
from services.cdp.segments.post_event import PostEvent
from services.cdp.segments.store import SegmentStore
from tests.integration.segments.conftest import add_profiles, job_ctx, resources, segments_of

PROFILES: list[dict[str, Any]] = [
    {"id": "p1", "traits": {"age": 17, "city": "Paris"}, "stats": {"visits": 1}},
    {"id": "p2", "traits": {"age": 30, "city": "Paris"}, "stats": {"visits": 25},
     "segments": ["adult", "manual"]},
    {"id": "p3", "traits": {"age": 45, "city": "Rome"}, "stats": {"visits": 3},
     "segments": ["parisian"]},
    {"id": "p4", "traits": {}, "segments": ["frequent-visitor", "adult"]},
    {"id": "p5", "traits": {"age": 70, "city": "paris"}, "stats": {"visits": 11}},
]
SEGMENTS = [
    ("Adult", "profile@traits.age >= 18"),
    ("Parisian", "lowercase(profile@traits.city) == \"paris\""),
    ("Frequent visitor", "profile@stats.visits > 10"),
]


async def _setup(pool: asyncpg.Pool) -> SegmentStore:
    store = SegmentStore(pool)
    for name, cond in SEGMENTS:
        seg = SegmentIn(name=name, condition=cond, eventType=["page-view"])
        seg.parsed()
        await store.save(seg)
    await add_profiles(pool, PROFILES)
    return store


@pytest.mark.parametrize("parallel", [1, 2, 3])
async def test_adds_and_removes_exactly(seg_pool: asyncpg.Pool, parallel: int) -> None:
    store = await _setup(seg_pool)
    # 2 profiles per save (p1-p2, p3-p4, p5), `parallel` saves at once
    res = resources(seg_pool, pool_size=2, save_after_pools=1, segmentation_parallel=parallel)
    ctx = job_ctx(res)
    saved: list[dict[str, Any]] = []

    async def save(state: dict[str, Any]) -> None:
        saved.append(dict(state))

    async def report(progress: dict[str, Any]) -> None:
        reported.append(progress)

    reported: list[dict[str, Any]] = []
    ctx._saver, ctx._report = save, report
    result = await Segmentation().run(ctx, SegmentationPayload())
    # A checkpoint follows each save whose predecessors are all saved, so in any order of
    # completion the checkpoints are save ends, in id order, and the last is the last save.
    marks = [c["after"] for c in saved]
    assert marks == sorted(set(marks)) and set(marks) <= {"p2", "p4", "p5"}
    assert marks[-1] == "p5" and saved[-1]["done"] == 5  # profiles, not pages x page size
    assert (reported[-1]["done"], reported[-1]["total"]) == (5, 5)
    if parallel == 1:
        assert marks == ["p2", "p4", "p5"]
    assert await segments_of(seg_pool) == {
        "p1": ["parisian"],
        "p2": ["adult", "manual", "frequent-visitor", "parisian"],  # added in id order
        "p3": ["adult"],  # parisian removed, adult added
        "p4": [],  # both removed: no traits
        "p5": ["adult", "frequent-visitor", "parisian"],
    }
    assert (result["added"], result["removed"]) == (7, 3)
    changes = {(c["profile_id"], c["segment_id"], c["kind"]) for c in await store.changes()}
    assert ("p3", "parisian", "segment-removed") in changes
    assert ("p3", "adult", "segment-added") in changes
    assert len(changes) == 10
    stamped = await seg_pool.fetch(
        "SELECT id FROM cdp_profiles WHERE segmentation_time IS NOT NULL "
        "AND doc #>> '{metadata,time,segmentation}' IS NOT NULL ORDER BY id")
    assert [r["id"] for r in stamped] == ["p1", "p2", "p3", "p4", "p5"]
    again = await Segmentation().run(job_ctx(res), SegmentationPayload())
    assert (again["profiles"], again["added"], again["removed"]) == (0, 0, 0)


async def test_checkpoint_resumes_after_the_last_save(seg_pool: asyncpg.Pool) -> None:
    await _setup(seg_pool)
    res = resources(seg_pool, pool_size=1, save_after_pools=2)
    ctx = job_ctx(res)
    ctx.checkpoint_state = {"after": "p2", "done": 2}  # as if p1, p2 were saved by attempt 1
    await Segmentation().run(ctx, SegmentationPayload())
    got = await segments_of(seg_pool)
    assert got["p1"] == [] and got["p2"] == ["adult", "manual"]  # not walked again
    assert got["p3"] == ["adult"]


async def test_disabled_and_selected_segments(seg_pool: asyncpg.Pool) -> None:
    store = await _setup(seg_pool)
    await store.set_enabled("parisian", False)
    res = resources(seg_pool)
    await Segmentation().run(job_ctx(res), SegmentationPayload(segments=["adult"]))
    got = await segments_of(seg_pool)
    assert got["p3"] == ["parisian", "adult"]  # parisian left alone: not in this run
    assert got["p1"] == []


async def test_queued_scope_takes_the_heartbeat_queue(seg_pool: asyncpg.Pool) -> None:
    await _setup(seg_pool)
    await seg_pool.execute(
        "INSERT INTO segmentation_queue VALUES ('p1', now(), now(), 'idle'), "
        "('p5', now(), now(), 'idle')")
    res = resources(seg_pool)
    out = await Segmentation().run(job_ctx(res), SegmentationPayload(scope="queued"))
    got = await segments_of(seg_pool)
    assert got["p1"] == ["parisian"] and got["p5"] == ["adult", "frequent-visitor", "parisian"]
    assert got["p3"] == ["parisian"]  # not queued, not touched
    assert out["profiles"] == 2
    assert await seg_pool.fetchval("SELECT count(*) FROM segmentation_queue") == 0


async def test_post_event_only_adds_listening_segments(seg_pool: asyncpg.Pool) -> None:
    await _setup(seg_pool)
    store = SegmentStore(seg_pool)
    await store.save(SegmentIn(name="Senior", condition="profile@traits.age > 60",
                               eventType=["purchase"]))
    hook = PostEvent(resources(seg_pool))
    assert await hook.segment("p5", ["page-view"]) == ["adult", "frequent-visitor", "parisian"]
    assert await hook.segment("p5", ["page-view"]) == []  # already there
    assert await hook.segment("p3", ["page-view"]) == ["adult"]  # parisian kept: add-only
    assert (await segments_of(seg_pool))["p3"] == ["parisian", "adult"]
    assert await hook.segment("p5", ["purchase"]) == ["senior"]


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"name": "X", "condition": "profile@a == 1 AND profile@b == 2 OR profile@c == 3"},
     "condition", "column 35"),
    ({"name": "X", "condition": "event@type == 'x'"}, "condition", "unknown source 'event@'"),
])
def test_bad_conditions_are_refused_on_save(body: dict[str, Any], field: str, words: str
                                            ) -> None:
    with pytest.raises(FieldError) as info:
        SegmentIn.model_validate(body).parsed()
    assert info.value.field == field and words in info.value.message


def test_segment_id_rule() -> None:
    assert SegmentIn(name="Frequent visitor", condition="profile@a EXISTS").id == \
        "frequent-visitor"


async def test_rules_fire_nothing_unless_triggers_are_enabled(seg_pool: asyncpg.Pool) -> None:
    from services.cdp.segments.triggers import TriggerIn

    store = await _setup(seg_pool)
    await store.save_trigger(TriggerIn.model_validate({
        "name": "one", "segment": {"id": "adult"},
        "action": {"type": "job", "job_type": "noop", "data": {}}}))
    result = await Segmentation().run(job_ctx(resources(seg_pool)), SegmentationPayload())
    assert (result["added"], result["fired"]) == (7, 0)  # ENABLE_SEGMENTATION_WF_TRIGGERS=no
    assert await seg_pool.fetchval("SELECT count(*) FROM jobs WHERE job_type = 'noop'") == 0
    row = await store.post_event_add("p4", ["adult"], triggers=False)  # the post-event path
    assert (list(row["added"]), row["fired"]) == (["adult"], 0)
    assert await seg_pool.fetchval("SELECT count(*) FROM jobs WHERE job_type = 'noop'") == 0


async def test_racing_runs_add_each_segment_and_fire_each_rule_once(
        seg_pool: asyncpg.Pool) -> None:
    import asyncio

    from services.cdp.segments.triggers import TriggerIn

    store = await _setup(seg_pool)
    await add_profiles(seg_pool, [{"id": f"q{i:03d}", "traits": {"age": 30}}
                                  for i in range(200)])
    for name in ("one", "two"):
        await store.save_trigger(TriggerIn.model_validate({
            "name": name, "segment": {"id": "adult"},
            "action": {"type": "job", "job_type": "noop", "data": {"who": "profile@id"}}}))
    res = resources(seg_pool, pool_size=3, save_after_pools=1,
                    enable_segmentation_wf_triggers="yes")
    await asyncio.gather(*(Segmentation().run(job_ctx(res), SegmentationPayload())
                           for _ in range(4)))
    added = await seg_pool.fetchval(
        "SELECT count(*) FROM cdp_segment_changes WHERE segment_id = 'adult' "
        "AND kind = 'segment-added'")
    assert added == 202  # q000..q199, p3 and p5 gain it; p2 had it
    jobs = await seg_pool.fetch("SELECT data FROM jobs WHERE job_type = 'noop'")
    assert len(jobs) == 2 * 202
    assert {j["data"]["who"] for j in jobs} >= {"q000", "q199", "p3"}
