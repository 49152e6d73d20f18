"""Failing fast and visibly: each documented exit status, with its message on stderr.

systemd's units rely on these: RestartPreventExitStatus=2 78 stops a unit that cannot start
until someone fixes it, and every other non-zero status is restarted by Restart=on-failure.
"""

from __future__ import annotations

import socket
from pathlib import Path

import asyncpg
import pytest

from tests.e2e.procs import DaemonProc, cli

UNREACHABLE = "postgresql://nobody@127.0.0.1:1/none"


@pytest.mark.parametrize("command", [["run"], ["status"], ["config", "check"]])
async def test_a_bad_setting_exits_78_naming_it(command: list[str]) -> None:
    done = await cli(None, *command, PARALLEL_JOBS="zero")
    assert done.returncode == 78, done.stderr
    assert done.stdout == b""
    assert (b"PARALLEL_JOBS='zero' (from env) is invalid: PARALLEL_JOBS must be an integer "
            b"from 1 to 1000" in done.stderr)


async def test_an_unknown_service_exits_2_listing_the_names() -> None:
    done = await cli(UNREACHABLE, "run", "--only", "heartbeat")
    assert done.returncode == 2, done.stderr
    assert b"unknown service(s) heartbeat; choose from scheduler" in done.stderr


@pytest.mark.parametrize("command", [["run"], ["status"]])
async def test_an_unreachable_database_exits_69(command: list[str]) -> None:
    done = await cli(UNREACHABLE, *command)
    assert done.returncode == 69, done.stderr
    assert b"cannot connect to PostgreSQL at postgresql://nobody@127.0.0.1:1/none" in done.stderr


async def test_a_service_that_keeps_crashing_exits_70(
    db_dsn: str, pool: asyncpg.Pool, tmp_path: Path,
) -> None:
    # Only the rescue statement reads this column, so only the rescue service breaks.
    await pool.execute("ALTER TABLE jobs RENAME COLUMN rescues TO rescues_gone")
    daemon = DaemonProc(db_dsn, tmp_path / "daemon.log", "--only", "rescue",
                        RESTART_LIMIT="1", RESCUE_INTERVAL_SECONDS="0.1")
    try:
        assert await daemon.wait() == 70, daemon.tail()
        out = daemon.log.read_text()
        assert ("error: service 'rescue' crashed 2 times within 300s; giving up: "
                "UndefinedColumnError: column j.rescues does not exist") in out
        assert out.count('"action": "service_crash"') == 1  # the first crash, restarted
    finally:
        daemon.kill()


@pytest.mark.parametrize("only", ["", " , "])
async def test_an_empty_only_exits_2(only: str) -> None:
    done = await cli(UNREACHABLE, "run", "--only", only)
    assert done.returncode == 2, done.stderr
    assert b"--only names no service" in done.stderr


async def test_a_busy_api_port_is_one_line_and_exit_71(db_dsn: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = await cli(db_dsn, "run", "--only", "api", API_PORT=str(port), LOG_FORMAT="plain",
                         LOGGING_LEVEL="WARNING")
    err = done.stderr.decode()
    assert done.returncode == 71, err
    assert f"error: the api service cannot listen on 127.0.0.1:{port} (Address already in use)" \
        in err
    assert "Traceback" not in err and "ExceptionGroup" not in err
    assert len(err.strip().splitlines()) == 1, err
