"""`supervisor cdp source add|list` and `supervisor cdp load FILE.ndjson`."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
from typer.testing import CliRunner

from services.cdp.store import CdpStore
from supervisor.cli import app


async def run(dsn: str, *args: str) -> tuple[int, str]:
    env = {"DATABASE_URL": dsn, "SUPERVISOR_CONFIG": "/dev/null", "LOG_FORMAT": "plain"}

    def invoke() -> tuple[int, str]:
        result = CliRunner().invoke(app, list(args), env=env)
        return result.exit_code, result.output

    return await anyio.to_thread.run_sync(invoke)


async def test_sources(db_dsn: str, cdp: CdpStore) -> None:
    assert await run(db_dsn, "cdp", "source", "add", "web-shop", "--name", "Shop") == (
        0, "source web-shop registered (Shop)\n")
    code, out = await run(db_dsn, "cdp", "source", "list", "--json")
    assert code == 0 and [(s["id"], s["name"]) for s in json.loads(out)] == [("web-shop", "Shop")]
    assert await cdp.source_exists("web-shop")


def doc(i: int, session: str, at: str, type_: str = "page-view") -> str:
    return json.dumps({"id": f"h{i}", "type": type_, "metadata": {"time": {"insert": at}},
                       "session": {"id": session}, "profile": {"id": f"p-{session}"},
                       "source": {"id": "import"}, "properties": {"i": i}})


async def test_load_keeps_times_creates_sessions_and_profiles_and_reports_bad_lines(
        tmp_path: Path, db_dsn: str, cdp: CdpStore) -> None:
    lines = [doc(1, "a", "2025-11-30T23:59:00Z"), doc(2, "a", "2025-12-01T00:10:00Z"),
             doc(3, "b", "2025-12-02T08:00:00+01:00", "Visit Ended"),
             '{"id": "h4", "type": "x"}', "not json", ""]
    path = tmp_path / "history.ndjson"
    path.write_text("\n".join(lines) + "\n")
    code, out = await run(db_dsn, "cdp", "load", str(path), "--quiet")
    assert code == 1
    assert "3 events stored, 0 already there, 2 lines refused of 6" in out
    assert "line 4: metadata: Field required" in out
    assert "line 5: not JSON" in out
    events = await cdp.session_events("a")
    assert [(r["id"], r["insert_time"].isoformat()) for r in events] == [
        ("h1", "2025-11-30T23:59:00+00:00"), ("h2", "2025-12-01T00:10:00+00:00")]
    session = await cdp.session("b")
    assert session is not None and session["status"] == "ended"  # its last event: visit-ended
    profile = await cdp.profile("p-a")
    assert profile is not None and profile["insert_time"].isoformat() == \
        "2025-11-30T23:59:00+00:00"
    code, out = await run(db_dsn, "cdp", "load", str(path), "--quiet")
    assert "0 events stored, 3 already there" in out
    async with cdp.pool.acquire() as conn:
        parts = await conn.fetch("SELECT DISTINCT tableoid::regclass::text AS p FROM cdp_events "
                                 "ORDER BY 1")
    assert [r["p"] for r in parts] == ["cdp_events_2025_11", "cdp_events_2025_12"]


async def test_load_refuses_a_missing_file(tmp_path: Path, db_dsn: str) -> None:
    code, out = await run(db_dsn, "cdp", "load", str(tmp_path / "nope.ndjson"))
    assert code == 2 and "is not a file" in out


async def test_load_with_the_progress_bar_over_many_batches(tmp_path: Path, db_dsn: str,
                                                            cdp: CdpStore) -> None:
    path = tmp_path / "big.ndjson"
    path.write_text("".join(doc(i, f"s{i // 10}", f"2026-01-01T00:{i // 100 % 60:02d}:00Z")
                            + "\n" for i in range(5000)))
    code, out = await run(db_dsn, "cdp", "load", str(path), "--batch", "700")
    assert code == 0, out
    assert "5000 events stored, 0 already there, 0 lines refused of 5000" in out
    async with cdp.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM cdp_sessions") == 500
        assert await conn.fetchval("SELECT count(*) FROM cdp_events") == 5000


async def test_load_with_elasticsearch_away_says_where_and_what_was_kept(
        tmp_path: Path, db_dsn: str, cdp: CdpStore) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = tmp_path / "h.ndjson"
    path.write_text(doc(1, "a", "2026-01-01T10:00:00Z") + "\n")
    env = {"DATABASE_URL": db_dsn, "SUPERVISOR_CONFIG": "/dev/null", "LOG_FORMAT": "plain",
           "ELASTIC_HOST": f"http://127.0.0.1:{port}"}

    def invoke() -> tuple[int, str]:
        result = CliRunner().invoke(app, ["cdp", "load", str(path), "--quiet"], env=env)
        return result.exit_code, result.output

    code, out = await anyio.to_thread.run_sync(invoke)
    assert code == 69
    assert f"Elasticsearch at http://127.0.0.1:{port} is unreachable" in out
    assert "after 1 events stored in PostgreSQL" in out
    assert len(await cdp.session_events("a")) == 1  # PostgreSQL has the batch
