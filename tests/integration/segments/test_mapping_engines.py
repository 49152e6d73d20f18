"""The mapping replay's two engines give the same profiles: hand-written cases of every
operation and edge, and generated event values on generated profiles."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import asyncpg
import pytest

from services.cdp.mapping import MappingIn
from services.cdp.mapping_store import MappingStore, PostCollectionMapping, ReplayPayload
from services.cdp.store import q
from supervisor.errors import JobStopped
from supervisor.jobtypes import JobContext
from tests.integration.segments.conftest import job_ctx, resources

T0 = datetime(2024, 3, 1, tzinfo=UTC)
Event = tuple[str, str, dict[str, Any]]  # (profile id, event type, properties)


def rule(src: str, op: int, dst: str) -> dict[str, Any]:
    """One event_to_profile rule."""
    return {"event": {"value": src}, "op": op, "profile": {"value": dst}}


MAPPINGS: list[dict[str, Any]] = [
    {"name": "buyer", "event_type": "purchase", "event_to_profile": [
        rule("properties.email", 0, "pii.email"),
        rule("properties.sku", 2, "aux.skus"),
        rule("properties.first", 1, "aux.first"),
        rule("properties.deep", 0, "data.a.b.c"),
        rule("properties.tags", 2, "interests.tags"),
        rule("properties.obj", 0, "misc.obj"),
        rule("properties.n", 2, "stats.nums"),
    ]},
    {"name": "promo view", "event_type": "page-view",
     "config": {"condition": 'event@properties.kind == "promo" AND event@properties.n > 0'},
     "event_to_profile": [rule("properties.campaign", 0, "traits.campaign"),
                          rule("properties.source", 2, "traits.sources")]},
    {"name": "vip signup", "event_type": "signup",
     "config": {"condition": "profile@traits.vip == TRUE"},
     "event_to_profile": [rule("event@properties.plan", 1, "profile@consents.plan")]},
]

# Each profile is a case: its starting doc and its events, in the order they happen.
CASES: dict[str, tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]] = {
    "last-filled-wins": ({}, [("purchase", {"email": "a@x"}), ("purchase", {"email": ""}),
                              ("purchase", {"email": "b@x"}), ("purchase", {"email": None}),
                              ("purchase", {})]),
    "empty-of-each-kind": ({"pii": {"email": "keep"}}, [
        ("purchase", {"email": v}) for v in ("", [], {}, None)] + [("purchase", {})]),
    "first-kept": ({"aux": {"first": "X"}}, [("purchase", {"first": "Y"})]),
    "first-over-null": ({"aux": {"first": None}}, [
        ("purchase", {"first": ""}), ("purchase", {"first": "Y"}), ("purchase", {"first": "Z"})]),
    "append-to-scalar": ({"aux": {"skus": "Z"}}, [
        ("purchase", {"sku": s}) for s in ("A", "Z", "B", "A")]),
    "append-lists": ({}, [("purchase", {"tags": ["a", "b"]}), ("purchase", {"tags": ["b", "c"]}),
                          ("purchase", {"tags": "d"}), ("purchase", {"tags": []}),
                          ("purchase", {"tags": {"k": 1}}), ("purchase", {"tags": ["a", "e"]})]),
    "append-keeps-old-duplicates": ({"aux": {"skus": ["A", "A"]}}, [
        ("purchase", {"sku": "A"}), ("purchase", {"sku": "B"})]),
    "append-to-null": ({"aux": {"skus": None}}, [("purchase", {"sku": "A"})]),
    "append-containers": ({}, [("purchase", {"tags": [{"x": 1}, {"x": 1.0}, [1], [1]]}),
                               ("purchase", {"tags": [[1, 2], {"x": 2}]})]),
    "json-equality": ({}, [("purchase", {"n": v}) for v in (1, 1.0, True, 2, "1", False, 0)]),
    "through-a-scalar": ({"data": "scalar", "pii": None}, [
        ("purchase", {"deep": "v", "email": "e@x"})]),
    "missing-intermediates": ({}, [("purchase", {"deep": {"z": [1]}})]),
    "partial-intermediates": ({"data": {"a": {}}}, [("purchase", {"deep": 7})]),
    "blocked-below": ({"data": {"a": {"b": 5}}}, [("purchase", {"deep": 7})]),
    "object-overwrites": ({"misc": {"obj": {"a": 1}}}, [
        ("purchase", {"obj": {"b": 2}}), ("purchase", {"obj": [1, 2]})]),
    "no-events": ({"pii": {"email": "untouched"}}, []),
    "condition-on-event": ({}, [
        ("page-view", {"kind": "promo", "n": 1, "campaign": "c1", "source": "s1"}),
        ("page-view", {"kind": "other", "n": 1, "campaign": "c2", "source": "s2"}),
        ("page-view", {"kind": "promo", "n": 0, "campaign": "c3", "source": "s3"}),
        ("page-view", {"kind": "promo", "n": 2, "source": ["s1", "s4"]})]),
    "condition-on-profile": ({"traits": {"vip": True}}, [("signup", {"plan": "gold"})]),
    "condition-on-profile-fails": ({"traits": {"vip": 1}}, [("signup", {"plan": "gold"})]),
    "two-types-interleaved": ({}, [
        ("purchase", {"email": "p1@x", "sku": "A"}),
        ("page-view", {"kind": "promo", "n": 1, "campaign": "c1"}),
        ("purchase", {"email": "p2@x", "sku": "B"}),
        ("page-view", {"kind": "promo", "n": 1, "campaign": "c2"}),
        ("signup", {"plan": "p"})]),
}


async def add_case_profiles(pool: asyncpg.Pool, docs: dict[str, dict[str, Any]]) -> None:
    """Profiles with exactly these docs."""
    await pool.executemany(
        "INSERT INTO cdp_profiles (id, doc, insert_time, update_time) "
        "VALUES ($1, $2::text::jsonb, $3, $3)",
        [(pid, json.dumps(doc), T0) for pid, doc in docs.items()])


async def add_events(pool: asyncpg.Pool, events: list[Event], *, same_time: bool = False
                     ) -> None:
    """Events in this order: a minute apart, or all at T0 with ids in order."""
    await pool.execute(q("cdp_ensure_partition"), T0)
    rows = []
    for n, (pid, kind, props) in enumerate(events):
        at = T0 if same_time else T0 + timedelta(minutes=n)
        eid = f"e{n:05d}"
        doc = {"id": eid, "type": kind, "properties": props, "profile": {"id": pid}}
        rows.append((eid, at, kind, pid, json.dumps(doc)))
    await pool.executemany(
        "INSERT INTO cdp_events (id, insert_time, type, profile_id, doc) "
        "VALUES ($1, $2, $3, $4, $5::text::jsonb)", rows)


async def save_mappings(pool: asyncpg.Pool, mappings: list[dict[str, Any]]) -> None:
    """Store mapping records."""
    for m in mappings:
        await MappingStore(pool).save(MappingIn.model_validate(m))


def payload(**extra: Any) -> ReplayPayload:
    """The replay of the first day after T0."""
    return ReplayPayload.model_validate({"from": T0.isoformat(),
                                         "to": (T0 + timedelta(days=1)).isoformat(), **extra})


async def docs_text(pool: asyncpg.Pool) -> dict[str, str]:
    """Each profile's doc as canonical JSON text (so True and 1, 1 and 1.0 stay apart)."""
    rows = await pool.fetch("SELECT id, doc FROM cdp_profiles ORDER BY id")
    return {r["id"]: json.dumps(r["doc"], sort_keys=True) for r in rows}


async def both_engines(pool: asyncpg.Pool, docs: dict[str, dict[str, Any]],
                       **extra: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the replay with the SQL engine, put the docs back, run it in Python; both results."""
    res = resources(pool)
    sql = await PostCollectionMapping().run(job_ctx(res, "post_collection_mapping"),
                                            payload(**extra))
    sql["docs"] = await docs_text(pool)
    await pool.executemany("UPDATE cdp_profiles SET doc = $2::text::jsonb WHERE id = $1",
                           [(pid, json.dumps(doc)) for pid, doc in docs.items()])
    py = await PostCollectionMapping().run(job_ctx(res, "post_collection_mapping"),
                                           payload(engine="python", **extra))
    py["docs"] = await docs_text(pool)
    return sql, py


def python_skips(caplog: pytest.LogCaptureFixture) -> tuple[Counter[str], Counter[str]]:
    """The Python engine's warnings per mapping: values skipped, and values blocked."""
    skipped: Counter[str] = Counter()
    blocked: Counter[str] = Counter()
    for rec in caplog.records:
        if getattr(rec, "action", None) == "mapping_skipped":
            mid = rec.getMessage().split(":")[0].removeprefix("mapping ")
            (blocked if "not an object" in rec.getMessage() else skipped)[mid] += 1
    return skipped, blocked


async def test_engines_agree_on_every_hand_written_case(seg_pool: asyncpg.Pool,
                                                        caplog: pytest.LogCaptureFixture
                                                        ) -> None:
    docs = {pid: doc for pid, (doc, _) in CASES.items()}
    await add_case_profiles(seg_pool, docs)
    await add_events(seg_pool, [(pid, kind, props) for pid, (_, evs) in CASES.items()
                                for kind, props in evs]
                     + [("ghost", "purchase", {"email": "g@x"})])  # no such profile
    await save_mappings(seg_pool, MAPPINGS)
    sql, py = await both_engines(seg_pool, docs, sql_page_size=3, page_size=3, page_workers=2)
    assert (sql["engine"], py["engine"]) == ("sql", "python")
    assert sql["docs"] == py["docs"]
    assert (sql["events"], sql["profiles"]) == (py["events"], py["profiles"] - 1)  # the ghost
    got = {pid: json.loads(text) for pid, text in sql["docs"].items()}
    assert got["last-filled-wins"]["pii"] == {"email": "b@x"}
    assert got["empty-of-each-kind"] == docs["empty-of-each-kind"]
    assert got["first-kept"]["aux"] == {"first": "X"}
    assert got["first-over-null"]["aux"] == {"first": "Y"}
    assert got["append-to-scalar"]["aux"] == {"skus": ["Z", "A", "B"]}
    assert got["append-lists"]["interests"] == {"tags": ["a", "b", "c", "d", "e"]}
    assert got["append-keeps-old-duplicates"]["aux"] == {"skus": ["A", "A", "B"]}
    assert got["append-containers"]["interests"] == {"tags": [{"x": 1}, [1], [1, 2], {"x": 2}]}
    assert sql["docs"]["json-equality"].endswith('"stats": {"nums": [1, true, 2, "1", false, 0]}}')
    assert got["through-a-scalar"] == docs["through-a-scalar"]
    assert got["missing-intermediates"]["data"] == {"a": {"b": {"c": {"z": [1]}}}}
    assert got["partial-intermediates"]["data"] == {"a": {"b": {"c": 7}}}
    assert got["blocked-below"] == docs["blocked-below"]
    assert got["object-overwrites"]["misc"] == {"obj": [1, 2]}
    assert got["no-events"] == docs["no-events"]
    assert got["condition-on-event"]["traits"] == {"campaign": "c1", "sources": ["s1", "s4"]}
    assert got["condition-on-profile"]["consents"] == {"plan": "gold"}
    assert "consents" not in got["condition-on-profile-fails"]
    assert got["two-types-interleaved"]["pii"] == {"email": "p2@x"}
    assert got["two-types-interleaved"]["traits"] == {"campaign": "c2"}
    # One summary a page instead of one warning a value, with the same counts; a blocked
    # target is counted once a profile where Python warns for each of its values.
    skipped, blocked = python_skips(caplog)
    assert sql["skipped"] == dict(skipped) and skipped["promo-view"] == 3
    assert sql["blocked"] == {"buyer": 3} and blocked == {"buyer": 3}


async def test_events_at_the_same_time_apply_in_id_order(seg_pool: asyncpg.Pool) -> None:
    docs: dict[str, dict[str, Any]] = {"p": {}}
    await add_case_profiles(seg_pool, docs)
    await add_events(seg_pool, [("p", "purchase", {"email": f"{n}@x", "sku": f"S{n % 3}",
                                                   "first": f"F{n}"}) for n in range(12)],
                     same_time=True)
    await save_mappings(seg_pool, MAPPINGS[:1])
    sql, py = await both_engines(seg_pool, docs)
    assert sql["docs"] == py["docs"]
    assert json.loads(sql["docs"]["p"]) == {"pii": {"email": "11@x"}, "aux": {
        "skus": ["S0", "S1", "S2"], "first": "F0"}}


async def test_dependent_rules_use_the_python_engine_and_apply_in_order(
        seg_pool: asyncpg.Pool) -> None:
    await add_case_profiles(seg_pool, {"p": {}})
    await add_events(seg_pool, [("p", "purchase", {"email": "a@x"}),
                                ("p", "signup", {"email": "b@x"}),
                                ("p", "purchase", {"email": "c@x"})])
    await save_mappings(seg_pool, [
        {"name": "first", "event_type": "purchase",
         "event_to_profile": [rule("properties.email", 1, "pii.email")]},
        {"name": "last", "event_type": "signup",
         "event_to_profile": [rule("properties.email", 0, "pii.email")]}])
    out = await PostCollectionMapping().run(job_ctx(resources(seg_pool),
                                                    "post_collection_mapping"), payload())
    assert out["engine"] == "python" and "two rules write 'pii.email'" in out["engine_reason"]
    doc = await seg_pool.fetchval("SELECT doc FROM cdp_profiles WHERE id = 'p'")
    assert doc["pii"] == {"email": "b@x"}  # set by the first purchase, overwritten, then kept


async def test_sql_engine_resumes_from_its_checkpoint_and_twice_changes_nothing(
        seg_pool: asyncpg.Pool) -> None:
    docs = {pid: doc for pid, (doc, _) in CASES.items()}
    await add_case_profiles(seg_pool, docs)
    await add_events(seg_pool, [(pid, kind, props) for pid, (_, evs) in CASES.items()
                                for kind, props in evs])
    await save_mappings(seg_pool, MAPPINGS)
    res = resources(seg_pool)
    straight = await PostCollectionMapping().run(
        job_ctx(res, "post_collection_mapping"), payload(sql_page_size=4))
    want = await docs_text(seg_pool)
    await pool_reset(seg_pool, docs)
    ctx = job_ctx(res, "post_collection_mapping")

    async def stop_after_a_page(_: dict[str, Any]) -> None:
        ctx.stop_reason = "shutdown"

    ctx._report = stop_after_a_page
    with pytest.raises(JobStopped):
        await PostCollectionMapping().run(ctx, payload(sql_page_size=4))
    state = ctx.checkpoint_state
    assert state is not None
    # Pages of 4, two at a time: the stop comes with the first report, so the pages under way
    # finish, the first two and, when the second finished first, the next its worker took.
    checkpointed = [pid for pid in sorted(docs) if pid <= state["after"]]
    assert len(checkpointed) in (8, 12) and len(checkpointed) < len(docs)
    # Undo what the checkpoint covers: a resumed run must not do it again, a restarted one would.
    await pool_reset(seg_pool, {pid: docs[pid] for pid in checkpointed})
    resumed = await PostCollectionMapping().run(
        JobContext(uuid4(), "post_collection_mapping", 2, res, db=seg_pool,
                   checkpoint_state=dict(state)), payload(sql_page_size=4))
    got = await docs_text(seg_pool)
    assert {pid: got[pid] for pid in checkpointed} == {
        pid: json.dumps(docs[pid], sort_keys=True) for pid in checkpointed}
    await PostCollectionMapping().run(job_ctx(res, "post_collection_mapping"),
                                      payload(sql_page_size=4))
    assert await docs_text(seg_pool) == want
    assert {k: resumed[k] for k in ("profiles", "events", "updated", "skipped", "blocked")} == {
        k: straight[k] for k in ("profiles", "events", "updated", "skipped", "blocked")}
    again = await PostCollectionMapping().run(
        job_ctx(res, "post_collection_mapping"), payload(sql_page_size=4))
    assert again["engine"] == "sql" and again["updated"] == 0
    assert await docs_text(seg_pool) == want


async def pool_reset(pool: asyncpg.Pool, docs: dict[str, dict[str, Any]]) -> None:
    """Put the profiles' docs back."""
    await pool.executemany("UPDATE cdp_profiles SET doc = $2::text::jsonb WHERE id = $1",
                           [(pid, json.dumps(doc)) for pid, doc in docs.items()])


async def test_a_profile_changed_during_the_page_is_mapped_on_its_new_doc(
        seg_pool: asyncpg.Pool) -> None:
    await add_case_profiles(seg_pool, {"p": {}, "q": {}})
    await add_events(seg_pool, [("p", "purchase", {"sku": "A"}), ("q", "purchase", {"sku": "B"})])
    await save_mappings(seg_pool, MAPPINGS[:1])
    writer = await seg_pool.acquire()
    try:
        tx = writer.transaction()
        await tx.start()
        # A live collector's update of p, not committed yet: the page's UPDATE waits for it.
        await writer.execute("UPDATE cdp_profiles SET doc = doc || "
                             "'{\"traits\": {\"live\": 1}}' WHERE id = 'p'")
        job = asyncio.ensure_future(PostCollectionMapping().run(
            job_ctx(resources(seg_pool), "post_collection_mapping"), payload()))
        for _ in range(500):
            if await seg_pool.fetchval("SELECT count(*) FROM pg_stat_activity "
                                       "WHERE wait_event_type = 'Lock' "
                                       "AND datname = current_database()"):
                break
            await asyncio.sleep(0.01)
        await tx.commit()
        out = await asyncio.wait_for(job, 30)
    finally:
        await seg_pool.release(writer)
    docs = {r["id"]: r["doc"] for r in await seg_pool.fetch("SELECT id, doc FROM cdp_profiles")}
    assert out["engine"] == "sql" and out["updated"] == 2
    assert docs["p"] == {"traits": {"live": 1}, "aux": {"skus": ["A"]}}  # both writes kept
    assert docs["q"] == {"aux": {"skus": ["B"]}}
