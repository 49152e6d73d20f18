"""`supervisor segment ...` and `supervisor cdp schedule-event` on a real database: output,
refusals (a message and exit 2, never a traceback)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from typer.testing import CliRunner

from supervisor.cli import _command_names, add_family_commands, app
from tests.integration.segments.conftest import add_profiles

# Importing supervisor.cli while the families are being discovered (the fixtures discover them
# first) leaves the root app without family commands; add them once here.
if "segment" not in _command_names(app):
    add_family_commands(app)


@pytest.fixture
def cli(db_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """A runner whose commands use this test's database and no config file."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_dsn)
    monkeypatch.setenv("LOGGING_LEVEL", "WARNING")
    monkeypatch.delenv("SUPERVISOR_CONFIG", raising=False)
    yield CliRunner()


def on_db(dsn: str, work: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
    """Run `work` on a connection of its own (the CLI runs its own event loop)."""
    async def go() -> Any:
        conn = await asyncpg.connect(dsn)
        try:
            return await work(conn)
        finally:
            await conn.close()
    return asyncio.run(go())


def run(cli: CliRunner, *args: str, code: int = 0) -> str:
    result = cli.invoke(app, list(args))
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.output


def test_segment_verbs(cli: CliRunner, db_dsn: str) -> None:
    on_db(db_dsn, lambda c: add_profiles(c, [{"id": "a", "stats": {"visits": 12}},
                                            {"id": "b", "stats": {"visits": 1}}]))
    out = run(cli, "segment", "add", "--name", "Frequent visitor", "--condition",
              "profile@stats.visits > 10", "--event-type", "page-view")
    assert "frequent-visitor" in out
    assert "frequent-visitor" in run(cli, "segment", "list")
    shown = json.loads(run(cli, "segment", "show", "frequent-visitor", "--json"))
    assert shown["condition"] == "profile@stats.visits > 10"
    assert "False" in run(cli, "segment", "disable", "frequent-visitor")
    assert "True" in run(cli, "segment", "enable", "frequent-visitor")
    tested = run(cli, "segment", "test", "frequent-visitor")
    assert tested.splitlines()[:2] == ["1 profile(s) match profile@stats.visits > 10", "  a"]
    assert json.loads(run(cli, "segment", "test", "profile@stats.visits < 5", "--json"))[
        "profiles"] == ["b"]
    assert on_db(db_dsn, lambda c: c.fetchval("SELECT count(*) FROM cdp_segment_changes")) == 0
    assert "removed frequent-visitor" in run(cli, "segment", "remove", "frequent-visitor")
    assert "no segment" in run(cli, "segment", "show", "frequent-visitor", code=1)


def test_bad_condition_names_the_column(cli: CliRunner) -> None:
    out = run(cli, "segment", "add", "--name", "x", "--condition",
              "profile@a == 1 AND profile@b == 2 OR profile@c == 3", code=2)
    assert "condition: column 35: AND and OR may not be mixed" in out
    assert "column 13" in run(cli, "segment", "test", "profile@a ==", code=2)


def test_schedule_event(cli: CliRunner, db_dsn: str) -> None:
    out = run(cli, "cdp", "schedule-event", "reminder", "--in", "2h", "--source", "web",
              "--profile", "p1", "--properties", '{"plan": "gold"}')
    assert out.startswith("scheduled reminder as job ")
    row = on_db(db_dsn, lambda c: c.fetchrow(
        "SELECT data::text, run_after FROM jobs WHERE job_type = 'delayed_event'"))
    assert json.loads(row["data"])["event"]["properties"] == {"plan": "gold"}
    assert row["run_after"] is not None
    assert "a duration" in run(cli, "cdp", "schedule-event", "x", "--in", "soon", "--source",
                               "web", code=2)
    assert "more than a year" in run(cli, "cdp", "schedule-event", "x", "--in", "400d",
                                     "--source", "web", code=2)
    assert "event.type" in run(cli, "cdp", "schedule-event", " ", "--source", "web", code=2)
