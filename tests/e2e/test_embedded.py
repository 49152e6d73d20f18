"""The README's start command path: no DATABASE_URL, so the daemon runs its own PostgreSQL."""

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
           if k not in ("DATABASE_URL", "NOTIFY_SOCKET", "REDIS_HOST")}
    env.update({"DATA_DIR": str(data_dir), "SUPERVISOR_CONFIG": str(ROOT / "tests/e2e/empty.toml"),
                "LOG_FORMAT": "json", "PYTHONPATH": str(ROOT)})
    return env


def _cli(data_dir: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "supervisor", *args], env=_env(data_dir),
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


def _start(data_dir: Path, log: BinaryIO) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "supervisor", "run", "--only", "rescue,first_time,retry"],
        env=_env(data_dir), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


async def test_embedded_postgres_starts_serves_and_stops(tmp_path: Path) -> None:
    data = tmp_path / "data"
    log = (tmp_path / "daemon.log").open("wb")
    daemon = _start(data, log)
    try:
        with anyio.fail_after(60):
            while b'"action": "start"' not in (tmp_path / "daemon.log").read_bytes():
                assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()
                await anyio.sleep(0.1)
        created = await anyio.to_thread.run_sync(
            _cli, data, "job", "create", "sleep", "--data", '{"seconds": 0.1}')
        uuid = created.strip()
        with anyio.fail_after(30):
            while True:
                shown = await anyio.to_thread.run_sync(_cli, data, "job", "show", uuid, "--json")
                if json.loads(shown)["status"] == "completed":
                    break
                await anyio.sleep(0.2)
        daemon.send_signal(signal.SIGTERM)
        with anyio.fail_after(60):
            while daemon.poll() is None:
                await anyio.sleep(0.1)
        assert daemon.returncode == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
        log.close()
    # The daemon stopped the server it started; the data stays for the next start.
    assert (data / "pgdata" / "PG_VERSION").exists()
    assert not (data / "pgdata" / "postmaster.pid").exists()
