"""The replay's engines agree on generated event values and profile docs (a property test)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.cdp.mapping import MappingIn
from services.cdp.mapping_store import MappingStore
from supervisor.store.db import create_pool
from supervisor.store.migrate import migrate
from tests.integration.segments.test_mapping_engines import (
    add_case_profiles,
    add_events,
    both_engines,
    rule,
)

MAPPINGS: list[dict[str, Any]] = [
    {"name": "all ops", "event_type": "purchase", "event_to_profile": [
        rule("properties.a", 0, "aux.a"), rule("properties.b", 1, "aux.b"),
        rule("properties.c", 2, "aux.c"), rule("properties.d", 2, "data.d.e"),
        rule("properties.e", 0, "misc.x.y")]},
    {"name": "gated", "event_type": "visit", "config": {"condition": "event@properties.k == 1"},
     "event_to_profile": [rule("properties.a", 2, "traits.t"),
                          rule("properties.b", 1, "traits.u")]},
]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2, 2),
                    st.sampled_from([1.0, 0.5, -2.0]), st.text(alphabet="ab ", max_size=2))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(["x", "y"]), inner, max_size=2), max_leaves=5)
subdocs = st.one_of(values, st.dictionaries(
    st.sampled_from(["a", "b", "c", "d", "x", "t", "u"]), values, max_size=3))
docs = st.dictionaries(st.sampled_from(["aux", "data", "misc", "traits"]), subdocs, max_size=4)
events = st.lists(st.tuples(
    st.sampled_from(["p0", "p1", "p2"]), st.sampled_from(["purchase", "visit"]),
    st.dictionaries(st.sampled_from(["a", "b", "c", "d", "e", "k"]), values, max_size=4)),
    max_size=8)


@pytest.fixture
def loop_pool(db_dsn: str) -> Iterator[tuple[asyncio.AbstractEventLoop, asyncpg.Pool]]:
    """A pool on a loop of this test's own (hypothesis drives a plain function), mappings saved."""
    loop = asyncio.new_event_loop()
    pool = loop.run_until_complete(create_pool(db_dsn, min_size=1, max_size=2))

    async def prepare() -> None:
        async with pool.acquire() as conn:
            await migrate(conn, [("cdp", "services.cdp.migrations")])
        for m in MAPPINGS:
            await MappingStore(pool).save(MappingIn.model_validate(m))

    loop.run_until_complete(prepare())
    yield loop, pool
    loop.run_until_complete(pool.close())
    loop.close()


async def _both(pool: asyncpg.Pool, profiles: list[dict[str, Any]],
                evs: list[tuple[str, str, dict[str, Any]]]) -> tuple[dict[str, Any], ...]:
    await pool.execute("TRUNCATE cdp_profiles, cdp_events")
    start = {f"p{i}": doc for i, doc in enumerate(profiles)}
    await add_case_profiles(pool, start)
    await add_events(pool, evs)
    return await both_engines(pool, start, sql_page_size=2)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(profiles=st.lists(docs, min_size=3, max_size=3), evs=events)
def test_engines_agree_on_generated_values(
        loop_pool: tuple[asyncio.AbstractEventLoop, asyncpg.Pool],
        profiles: list[dict[str, Any]], evs: list[tuple[str, str, dict[str, Any]]]) -> None:
    loop, pool = loop_pool
    sql, py = loop.run_until_complete(_both(pool, profiles, evs))
    assert sql["engine"] == "sql"
    assert sql["docs"] == py["docs"], json.dumps([profiles, evs])
