"""The daemon and the CLI as subprocesses, for end-to-end tests of what an operator sees."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio

ROOT = Path(__file__).resolve().parents[2]
# Inherited from a developer's shell or a CI runner, these would change what the child does.
SCRUBBED = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "DATABASE_URL", "PARALLEL_JOBS")


def env(dsn: str | None, **extra: str) -> dict[str, str]:
    """Environment for a child: this test's database, fast heartbeats, no inherited systemd."""
    out = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    out.update({
        "SUPERVISOR_CONFIG": str(ROOT / "tests" / "e2e" / "empty.toml"),
        "PYTHONPATH": str(ROOT), "LOG_FORMAT": "json", "API_PORT": "0",
        "NODE_HEARTBEAT_SECONDS": "0.5", "NODE_STALE_SECONDS": "5",
        "RESCUE_INTERVAL_SECONDS": "0.5", "JOB_WORKER_POLL_MS": "500",
    })
    if dsn is not None:
        out["DATABASE_URL"] = dsn
    out.update(extra)
    return out


class DaemonProc:
    """`supervisor run ARGS` in the background, its output in a log file."""

    def __init__(self, dsn: str, log: Path, *args: str, **extra: str) -> None:
        self.log = log
        self.handle = log.open("ab")
        self.p = subprocess.Popen(
            [sys.executable, "-m", "supervisor", "run", *args], env=env(dsn, **extra), cwd=ROOT,
            stdout=self.handle, stderr=subprocess.STDOUT)

    async def wait(self, timeout: float = 60) -> int:
        """The exit status, waiting at most `timeout` seconds."""
        with anyio.fail_after(timeout):
            while (code := self.p.poll()) is None:
                await anyio.sleep(0.05)
        self.handle.close()
        return code

    def tail(self) -> str:
        """The end of the log, for assertion messages."""
        return self.log.read_text(errors="replace")[-3000:]

    def kill(self) -> None:
        """Make sure nothing outlives the test."""
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        self.handle.close()


async def cli(dsn: str | None, *args: str, timeout: float = 60,
              **extra: str) -> subprocess.CompletedProcess[bytes]:
    """Run `supervisor ARGS` to the end; output captured, exit status not checked."""
    with anyio.fail_after(timeout):
        return await anyio.run_process([sys.executable, "-m", "supervisor", *args],
                                       env=env(dsn, **extra), cwd=ROOT, check=False)


async def status_json(dsn: str, *args: str) -> tuple[int, dict[str, Any]]:
    """(exit status, report) of `supervisor status --json ARGS`."""
    done = await cli(dsn, "status", "--json", *args)
    assert done.stdout, done.stderr.decode(errors="replace")
    return done.returncode, json.loads(done.stdout)
