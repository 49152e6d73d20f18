"""`supervisor job ...` against a real database: what a person at a terminal sees."""

from __future__ import annotations

import json

import anyio
from typer.testing import CliRunner

from supervisor.cli import app


async def _run(dsn: str, *args: str) -> tuple[int, str]:
    env = {"DATABASE_URL": dsn, "SUPERVISOR_CONFIG": "/dev/null", "LOG_FORMAT": "plain"}

    def invoke() -> tuple[int, str]:
        result = CliRunner().invoke(app, list(args), env=env)
        return result.exit_code, result.output

    return await anyio.to_thread.run_sync(invoke)


async def test_create_show_cancel_retry_round_trip(db_dsn: str) -> None:
    code, out = await _run(db_dsn, "job", "create", "sleep", "--data", '{"seconds": 5}',
                           "--retry-count", "2")
    assert code == 0, out
    uuid = out.strip().splitlines()[-1]
    code, out = await _run(db_dsn, "job", "show", uuid, "--json")
    shown = json.loads(out)
    assert (shown["status"], shown["retry_count"], shown["data"]) == ("open", 2, {"seconds": 5})
    assert (await _run(db_dsn, "job", "cancel", uuid)) == (0, f"cancelled {uuid}\n")
    code, out = await _run(db_dsn, "job", "cancel", uuid)
    assert code == 1 and "is cancelled already; nothing to cancel" in out
    assert (await _run(db_dsn, "job", "retry", uuid)) == (0, f"re-opened {uuid}\n")
    code, out = await _run(db_dsn, "job", "list", "--status", "open", "--json")
    assert [j["uuid"] for j in json.loads(out)] == [uuid]


async def test_bad_input_is_refused_with_the_field_and_the_fix(db_dsn: str) -> None:
    code, out = await _run(db_dsn, "job", "create", "nope")
    assert code == 2 and "unknown job type 'nope'; known types: " in out and "noop, sleep" in out
    code, out = await _run(db_dsn, "job", "create", "sleep", "--data", '{"seconds": -1}')
    assert code == 2 and "job_data.seconds" in out
    code, out = await _run(db_dsn, "job", "create", "sleep", "--data", "{not json")
    assert code == 2 and "--data is not valid JSON" in out
    code, out = await _run(db_dsn, "job", "list", "--status", "stuck")
    assert code == 2 and "unknown status 'stuck'" in out
    code, out = await _run(db_dsn, "job", "show", "not-a-uuid")
    assert code == 2 and "is not a job uuid" in out
    code, out = await _run(db_dsn, "job", "show", "00000000-0000-0000-0000-000000000000")
    assert code == 1 and "no job" in out
