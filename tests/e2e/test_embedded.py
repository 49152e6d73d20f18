"""The README's start command: every service, no DATABASE_URL, so an embedded PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import BinaryIO

import anyio
import httpx

ROOT = Path(__file__).resolve().parents[2]


CONFIG = """
[schedules.nightly]
cron = "0 3 * * *"
job_type = "noop"
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(data_dir: Path, port: int = 0) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "NOTIFY_SOCKET", "REDIS_HOST")}
    config = data_dir.parent / "config.toml"
    config.write_text(CONFIG)
    env.update({"DATA_DIR": str(data_dir), "SUPERVISOR_CONFIG": str(config),
                "LOG_FORMAT": "json", "PYTHONPATH": str(ROOT), "API_PORT": str(port)})
    return env


def _cli(data_dir: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "supervisor", *args], env=_env(data_dir),
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


def _start(data_dir: Path, log: BinaryIO, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "supervisor", "run"],
                            env=_env(data_dir, port), cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT)


async def test_every_service_on_embedded_postgres_starts_serves_and_stops(tmp_path: Path) -> None:
    data, port = tmp_path / "data", _free_port()
    log = (tmp_path / "daemon.log").open("wb")
    daemon = _start(data, log, port)
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
        schedules = await anyio.to_thread.run_sync(_cli, data, "schedule", "list")
        assert "nightly" in schedules, "config.toml schedules are synced at start"
        async with httpx.AsyncClient() as http:
            health = await http.get(f"http://127.0.0.1:{port}/healthz")
        assert health.status_code == 200
        assert "service_crash" not in (tmp_path / "daemon.log").read_text()
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
