"""`supervisor data export` against a running daemon: job created, followed, file downloaded."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg

from tests.e2e.procs import DaemonProc, cli
from tests.integration.vql_support import load_fixed_set


async def test_cli_export_downloads_the_file(db_dsn: str, pool: asyncpg.Pool,
                                             tmp_path: Path) -> None:
    await load_fixed_set(pool)
    data_dir = str(tmp_path / "data")
    query = tmp_path / "q.json"
    query.write_text(json.dumps({"select_columns": ["email", "departments"],
                                 "where": {"keyword_match": {"must": {"country": ["USA"]}}}}))
    out = tmp_path / "out.csv"
    daemon = DaemonProc(db_dsn, tmp_path / "daemon.log", DATA_DIR=data_dir)
    try:
        done = await cli(db_dsn, "data", "export", "--service", "contact", "--vql", str(query),
                         "-o", str(out), "--timeout", "60", DATA_DIR=data_dir)
    finally:
        daemon.p.terminate()
        await daemon.wait()
        daemon.kill()
    assert done.returncode == 0, done.stderr.decode() + daemon.tail()
    assert out.read_bytes().decode() == (
        'email,departments\r\n"mary@acme.com","executive,admin"\r\n'
        '"jon@initech.com","engineering"\r\n"john@acme.com","executive"\r\n')
    assert "3 rows exported to uploads/" in done.stdout.decode()
    assert f"saved to {out}" in done.stdout.decode()


async def test_cli_export_refuses_a_bad_query(db_dsn: str, tmp_path: Path) -> None:
    query = tmp_path / "q.json"
    query.write_text(json.dumps({"select_columns": ["email"],
                                 "where": {"range_query": {"must": {"title": {"gt": 1}}}}}))
    done = await cli(db_dsn, "data", "export", "--service", "contact", "--vql", str(query))
    err = done.stderr.decode()
    assert done.returncode == 2
    assert "vql.where.range_query.must.title: title is a text field" in err
    assert "Traceback" not in err
