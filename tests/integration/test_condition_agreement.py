"""The Python evaluator and the SQL compiler agree: generated conditions on generated profiles,
the SQL run by a real PostgreSQL over a temporary table of them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.cdp.segments.condition import compile_sql, evaluate
from services.cdp.segments.condition import tree as t

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
FUNCTIONS_SQL = (Path(__file__).parents[2] / "services/cdp/migrations/0100_condition_functions.sql")
PATHS = [("a",), ("b",), ("c",), ("n", "x"), ("n",), ("t",)]

# Letters whose lower case is the same in Python and PostgreSQL (not e.g. 'İ', which Python
# lowers to two code points); case, accents, digits and the characters the operators look at.
text = st.text(alphabet="aAbBzZéÉäÄ0 -_:.TZ+", max_size=6)
times = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2030, 12, 31)).map(
    lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))
time_text = st.one_of(
    times.map(lambda d: d.strftime("%Y-%m-%d")),
    times.map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S")),
    times.map(lambda d: d.strftime("%Y-%m-%d %H:%M:%S.%f")[:23] + "Z"),
    times.map(lambda d: d.strftime("%Y-%m-%dT%H:%M") + "+02:00"),
    times.map(lambda d: d.strftime("%Y-%m-%d %H:%M:%S.%f") + "+00"),
    times.map(lambda d: d.strftime("%Y-%m-%dT%H:%M") + "-0530"),
    st.sampled_from(["2024-02-30", "2024-05-01T12:00:00Z", "2024-13-01", "not a time"]),
)
numbers = st.one_of(st.integers(-5, 5), st.sampled_from([0.5, 1.25, -3.0, 2.0, 1e20, 0.1]))
scalars = st.one_of(st.none(), st.booleans(), numbers, text, time_text)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(["x", "y"]), inner, max_size=2), max_leaves=5)
profiles = st.dictionaries(st.sampled_from(["a", "b", "c", "n", "t"]), values, max_size=5)


def _literal_value(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_literal_value(x) for x in v)
    if isinstance(v, float | int) and not isinstance(v, bool):
        return t.number(v)
    return v


literals = st.one_of(scalars, st.lists(scalars, max_size=3)).map(
    lambda v: t.Literal(_literal_value(v)))
fields = st.sampled_from(PATHS).map(lambda p: t.Field("profile", p, 1))
offsets = st.integers(-400, 400).map(lambda d: timedelta(days=d))
operands = st.one_of(
    fields, fields, literals,
    st.one_of(fields, text.map(t.Literal)).map(t.Lower),
    offsets.map(t.Now),
    st.builds(t.DateTimeOf, st.one_of(fields, time_text.map(t.Literal)), offsets),
)
predicates = st.one_of(
    st.builds(t.Compare, st.sampled_from([*t.COMPARISONS, *t.STRING_OPS]), operands, operands),
    st.builds(t.Between, operands, operands, operands),
    st.builds(t.Check, st.sampled_from(t.CHECKS), operands),
)
conditions = st.recursive(predicates, lambda inner: st.builds(
    t.BoolOp, st.sampled_from(["and", "or"]), st.lists(inner, min_size=2, max_size=3).map(tuple)),
    max_leaves=4)


@pytest.fixture
def conn(db_dsn: str) -> Iterator[tuple[asyncio.AbstractEventLoop, asyncpg.Connection]]:
    """A connection on a loop of this test's own (hypothesis drives a plain function)."""
    loop = asyncio.new_event_loop()
    c = loop.run_until_complete(asyncpg.connect(db_dsn))
    loop.run_until_complete(c.execute(FUNCTIONS_SQL.read_text()))
    loop.run_until_complete(c.execute("CREATE TEMP TABLE gen (id int PRIMARY KEY, doc jsonb)"))
    yield loop, c
    loop.run_until_complete(c.close())
    loop.close()


async def _sql_matches(c: asyncpg.Connection, cond: t.Condition,
                       docs: list[dict[str, Any]]) -> set[int]:
    await c.execute("TRUNCATE gen")
    await c.executemany("INSERT INTO gen VALUES ($1, $2::jsonb)",
                        [(i, json.dumps(d)) for i, d in enumerate(docs)])
    compiled = compile_sql(cond, {"profile": "doc"}, NOW)
    rows = await c.fetch(f"SELECT id FROM gen WHERE {compiled.sql}", *compiled.params)
    return {r["id"] for r in rows}


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(cond=conditions, docs=st.lists(profiles, min_size=1, max_size=6))
def test_python_and_sql_agree(conn: tuple[asyncio.AbstractEventLoop, asyncpg.Connection],
                              cond: t.Condition, docs: list[dict[str, Any]]) -> None:
    loop, c = conn
    in_sql = loop.run_until_complete(_sql_matches(c, cond, docs))
    in_python = {i for i, d in enumerate(docs) if evaluate(cond, {"profile": d}, NOW)}
    assert in_sql == in_python, (cond, [docs[i] for i in in_sql ^ in_python])


def test_numbers_compare_by_value(conn: tuple[asyncio.AbstractEventLoop, asyncpg.Connection]
                                  ) -> None:
    loop, c = conn
    cond = t.Compare("==", t.Field("profile", ("a",), 1), t.Literal(Decimal("2")))
    docs: list[dict[str, Any]] = [{"a": 2.0}, {"a": 2}, {"a": True}, {"a": "2"}]
    assert loop.run_until_complete(_sql_matches(c, cond, docs)) == {0, 1}
