"""The embedded PostgreSQL: supervised by the daemon, never started or created by other commands."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import BinaryIO

import anyio

ROOT = Path(__file__).resolve().parents[2]


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "NOTIFY_SOCKET", "REDIS_HOST", "SUPERVISOR_CONFIG")}
    empty = data_dir.parent / "empty.toml"
    empty.write_text("")
    env.update({"DATA_DIR": str(data_dir), "SUPERVISOR_CONFIG": str(empty), "LOG_FORMAT": "json",
                "PYTHONPATH": str(ROOT), "API_PORT": "0", "NODE_HEARTBEAT_SECONDS": "0.5"})
    return env


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "supervisor", *args], env=_env(data_dir),
                          cwd=data_dir.parent, capture_output=True, text=True, timeout=120)


def _postmaster_pid(data_dir: Path) -> int | None:
    pid_file = data_dir / "pgdata" / "postmaster.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text().split()[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def test_a_command_finds_no_database_creates_none_and_says_where_it_looked(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    done = _cli(data, "job", "list")
    assert done.returncode == 69, done.stderr
    assert str(data / "pgdata") in done.stderr and "supervisor db init" in done.stderr
    assert "Traceback" not in done.stderr
    assert not data.exists(), "a command other than run or db init created DATA_DIR"


def test_db_init_creates_the_database_and_leaves_no_server_running(tmp_path: Path) -> None:
    data = tmp_path / "data"
    done = _cli(data, "db", "init")
    assert done.returncode == 0, done.stderr
    assert (data / "pgdata" / "PG_VERSION").exists()
    assert _postmaster_pid(data) is None, "db init left the embedded server running"
    # With no daemon on it, other commands refuse rather than start the server themselves.
    listed = _cli(data, "job", "list")
    assert listed.returncode == 69 and "not running" in listed.stderr, listed.stderr
    assert _postmaster_pid(data) is None


async def test_the_daemon_restarts_its_embedded_server_when_it_dies(tmp_path: Path) -> None:
    data = tmp_path / "data"
    log = (tmp_path / "daemon.log").open("wb")
    daemon = _start(data, log)
    try:
        await _wait_log(tmp_path / "daemon.log", '"action": "start"', daemon)
        pid = _postmaster_pid(data)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        await _wait_log(tmp_path / "daemon.log", '"action": "embedded_pg_restarted"', daemon)
        # A command attaches to the restarted server and the daemon runs the job.
        created = await anyio.to_thread.run_sync(
            lambda: _cli(data, "job", "create", "noop"))
        assert created.returncode == 0, created.stderr
        uuid = created.stdout.strip()
        with anyio.fail_after(60):
            while True:
                shown = await anyio.to_thread.run_sync(
                    lambda: _cli(data, "job", "show", uuid, "--json"))
                if shown.returncode == 0 and json.loads(shown.stdout)["status"] == "completed":
                    break
                await anyio.sleep(0.3)
        daemon.send_signal(signal.SIGTERM)
        with anyio.fail_after(60):
            while daemon.poll() is None:
                await anyio.sleep(0.1)
        assert daemon.returncode == 0, (tmp_path / "daemon.log").read_text()[-3000:]
        assert _postmaster_pid(data) is None, "the daemon left its server running"
    finally:
        if daemon.poll() is None:
            daemon.kill()
        log.close()


def _start(data_dir: Path, log: BinaryIO) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "supervisor", "run"], env=_env(data_dir),
                            cwd=data_dir.parent, stdout=log, stderr=subprocess.STDOUT)


def _text(path: Path) -> str:
    return path.read_text(errors="replace")


async def _wait_log(path: Path, needle: str, proc: subprocess.Popen[bytes]) -> None:
    with anyio.fail_after(90):
        while needle not in _text(path):
            assert proc.poll() is None, _text(path)[-3000:]
            await anyio.sleep(0.1)
