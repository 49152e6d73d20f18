"""The daemon talks sd_notify to a real socket: READY=1, WATCHDOG=1 with STATUS=, STOPPING=1."""

from __future__ import annotations

import re
import shutil
import signal
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import pytest

from supervisor.store.jobs import JobStore
from tests.e2e.procs import DaemonProc

STATUS_LINE = re.compile(
    r"STATUS=queued \d+, running \d+, (\d+) jobs/min, finished (\d+) since start")


class Inbox:
    """A bound unix datagram socket standing in for systemd's NOTIFY_SOCKET."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)
        self.got: list[str] = []

    def _drain(self) -> None:
        while True:
            try:
                self.got.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                return

    async def until(self, check: Callable[[list[str]], bool], what: str,
                    timeout: float = 30) -> list[str]:
        """Every message so far, once `check` holds for them (a bound, not a measurement)."""
        with anyio.move_on_after(timeout):
            while True:
                self._drain()
                if check(self.got):
                    return list(self.got)
                await anyio.sleep(0.02)
        raise AssertionError(f"timed out waiting for {what}; got {self.got[-10:]}")


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    # sun_path holds 108 bytes, too few for pytest's tmp_path on some machines: use a short dir.
    directory = Path(tempfile.mkdtemp(prefix="sdn-"))
    box = Inbox(directory / "notify.sock")
    yield box
    box.sock.close()
    shutil.rmtree(directory, ignore_errors=True)


def _after_ready(messages: list[str]) -> list[str]:
    return messages[messages.index("READY=1") + 1:] if "READY=1" in messages else []


async def test_ready_then_watchdog_and_status_then_stopping(
    db_dsn: str, store: JobStore, inbox: Inbox, tmp_path: Path,
) -> None:
    daemon = DaemonProc(db_dsn, tmp_path / "daemon.log", "--only", "rescue,first_time,retry",
                        NOTIFY_SOCKET=str(inbox.path), WATCHDOG_USEC="2000000")
    try:
        await inbox.until(lambda m: "READY=1" in m, "READY=1")
        got = await inbox.until(
            lambda m: "WATCHDOG=1" in _after_ready(m)
            and any(STATUS_LINE.fullmatch(x) for x in _after_ready(m)), "WATCHDOG=1 and STATUS=")
        assert got.count("READY=1") == 1
        assert not any(m.startswith(("WATCHDOG=", "STATUS=")) for m in got[:got.index("READY=1")])
        await store.create_many("noop", [{} for _ in range(5)])
        got = await inbox.until(lambda m: any(
            (s := STATUS_LINE.fullmatch(x)) and s.group(2) == "5" for x in m),
            "STATUS= counting the 5 finished jobs")
        five = next(s for x in got if (s := STATUS_LINE.fullmatch(x)) and s.group(2) == "5")
        assert 1 <= int(five.group(1)) <= 5, five.group(0)  # jobs/min: they finished just now
        daemon.p.send_signal(signal.SIGTERM)
        assert await daemon.wait() == 0, daemon.tail()
        got = await inbox.until(lambda m: "STOPPING=1" in m, "STOPPING=1")
        assert got.index("STOPPING=1") > got.index("READY=1")
    finally:
        daemon.kill()

