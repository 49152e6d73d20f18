"""CLI commands on embedded defaults say what they did, not which PostgreSQL they started."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import BinaryIO

import anyio

ROOT = Path(__file__).resolve().parents[2]


def _env(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "NOTIFY_SOCKET", "REDIS_HOST", "SUPERVISOR_CONFIG")}
    env.update({"DATA_DIR": str(data_dir), "SUPERVISOR_CONFIG": os.devnull, "LOG_FORMAT": "json",
                "PYTHONPATH": str(ROOT), "API_PORT": str(port)})
    return env


def _daemon(data: Path, port: int, log: BinaryIO) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "supervisor", "run", "--only", "api"],
                            env=_env(data, port), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


async def test_cli_commands_do_not_log_the_embedded_server(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    data, log_path = tmp_path / "data", tmp_path / "daemon.log"
    with log_path.open("wb") as log:
        daemon = _daemon(data, port, log)
        try:
            with anyio.fail_after(60):
                while b'"action": "start"' not in log_path.read_bytes():
                    assert daemon.poll() is None, log_path.read_text()
                    await anyio.sleep(0.1)
            done = await anyio.run_process(
                [sys.executable, "-m", "supervisor", "job", "list"], env=_env(data, port),
                cwd=ROOT, check=False)
        finally:
            daemon.send_signal(signal.SIGTERM)
            with anyio.fail_after(60):
                while daemon.poll() is None:
                    await anyio.sleep(0.1)
    assert done.returncode == 0, done.stderr
    assert b"embedded PostgreSQL" not in done.stderr and b"embedded_pg" not in done.stderr
    assert done.stderr.strip() == b"(0 job(s))", done.stderr
