"""sd_notify datagrams, watchdog_interval() and the health-gated Watchdog."""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from supervisor.runtime.notify import STATUS_ONLY_INTERVAL, Notifier, Watchdog, watchdog_interval


def _receiver(address: str | bytes) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.setblocking(False)
    return sock


def _drain(sock: socket.socket) -> list[str]:
    """Every datagram waiting on the socket, in order."""
    got: list[str] = []
    while True:
        try:
            got.append(sock.recv(4096).decode())
        except BlockingIOError:
            return got


@pytest.fixture
def listener(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A bound datagram socket with NOTIFY_SOCKET pointing at it."""
    path = tmp_path / "notify.sock"
    if len(str(path)) > 100:  # sun_path holds 108 bytes; deep tmp dirs can exceed it
        path = Path(tempfile.mkdtemp(prefix="sdn")) / "n.sock"
    sock = _receiver(str(path))
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    yield sock
    sock.close()


def test_ready_stopping_status_watchdog(listener: socket.socket) -> None:
    notifier = Notifier()
    assert notifier.enabled
    assert notifier.ready()
    assert notifier.status("3 jobs running")
    assert notifier.watchdog()
    assert notifier.stopping()
    assert notifier.extend_timeout(2.5)
    assert _drain(listener) == [
        "READY=1",
        "STATUS=3 jobs running",
        "WATCHDOG=1",
        "STOPPING=1",
        "EXTEND_TIMEOUT_USEC=2500000",
    ]


def test_send_joins_fields_and_flattens_newlines(listener: socket.socket) -> None:
    notifier = Notifier()
    assert notifier.send(READY=1, STATUS="line one\nREADY=1")
    assert _drain(listener) == ["READY=1\nSTATUS=line one READY=1"]


def test_abstract_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"supervisor-test-{uuid.uuid4().hex}"
    sock = _receiver(b"\0" + name.encode())
    monkeypatch.setenv("NOTIFY_SOCKET", f"@{name}")
    try:
        assert Notifier().ready()
        assert _drain(sock) == ["READY=1"]
    finally:
        sock.close()


def test_noop_without_notify_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    notifier = Notifier()
    assert not notifier.enabled
    assert not notifier.ready()
    assert not notifier.status("x")


def test_unset_environment_hides_socket_from_children(listener: socket.socket) -> None:
    notifier = Notifier(unset_environment=True)
    assert "NOTIFY_SOCKET" not in os.environ
    assert notifier.ready()
    assert _drain(listener) == ["READY=1"]


def test_send_error_is_logged_not_raised(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    notifier = Notifier(str(tmp_path / "nobody-listens.sock"))
    with caplog.at_level(logging.WARNING, logger="supervisor.runtime.notify"):
        assert not notifier.ready()
    assert any(r.getMessage() == "sd_notify failed" for r in caplog.records)


@pytest.mark.parametrize(
    ("usec", "pid", "expected"),
    [
        ("30000000", None, 15.0),
        ("30000000", "self", 15.0),
        ("30000000", "1", None),
        (None, None, None),
        ("junk", None, None),
        ("0", None, None),
    ],
)
def test_watchdog_interval(
    monkeypatch: pytest.MonkeyPatch, usec: str | None, pid: str | None, expected: float | None
) -> None:
    for key, value in (("WATCHDOG_USEC", usec), ("WATCHDOG_PID", pid)):
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, str(os.getpid()) if value == "self" else value)
    assert watchdog_interval() == expected


def _scripted(verdicts: list[bool], stopping: anyio.Event) -> Watchdog:
    """A Watchdog whose health follows `verdicts`, setting `stopping` after the last one."""
    remaining = list(verdicts)
    counter = iter(range(1, len(verdicts) + 1))

    async def is_healthy() -> bool:
        verdict = remaining.pop(0)
        if not remaining:
            stopping.set()
        return verdict

    async def status_text() -> str:
        return f"tick {next(counter)}"

    return Watchdog(Notifier(), is_healthy, status_text, interval=0.001)


async def test_watchdog_pings_only_while_healthy(
    listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    stopping = anyio.Event()
    watchdog = _scripted([True, False, False, True], stopping)
    assert watchdog.pings
    async with anyio.create_task_group() as tg:
        await tg.start(watchdog.run, stopping)
    assert _drain(listener) == [
        "WATCHDOG=1",
        "STATUS=tick 1",
        "STATUS=tick 2",
        "STATUS=tick 3",
        "WATCHDOG=1",
        "STATUS=tick 4",
    ]


async def test_watchdog_silent_while_unhealthy(
    listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    stopping = anyio.Event()
    async with anyio.create_task_group() as tg:
        await tg.start(_scripted([False, False], stopping).run, stopping)
    assert _drain(listener) == ["STATUS=tick 1", "STATUS=tick 2"]


async def test_status_only_without_configured_watchdog(listener: socket.socket) -> None:
    stopping = anyio.Event()
    watchdog = _scripted([True, True], stopping)
    assert not watchdog.pings
    async with anyio.create_task_group() as tg:
        await tg.start(watchdog.run, stopping)
    assert _drain(listener) == ["STATUS=tick 1", "STATUS=tick 2"]


def test_default_intervals(listener: socket.socket, monkeypatch: pytest.MonkeyPatch) -> None:
    async def yes() -> bool:
        return True

    async def text() -> str:
        return ""

    assert Watchdog(Notifier(), yes, text).interval == STATUS_ONLY_INTERVAL
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    assert Watchdog(Notifier(), yes, text).interval == 15.0


async def test_failing_health_check_counts_as_unhealthy(
    listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")

    async def broken() -> bool:
        raise ConnectionError("database gone")

    async def status_text() -> str:
        raise RuntimeError("no status")

    watchdog = Watchdog(Notifier(), broken, status_text, interval=0.001)
    assert not await watchdog.tick()
    assert _drain(listener) == ["STATUS=status unavailable"]


async def test_hanging_health_check_counts_as_unhealthy(
    listener: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    never = anyio.Event()

    async def wedged() -> bool:
        await never.wait()
        return True

    async def status_text() -> str:
        return "wedged"

    watchdog = Watchdog(Notifier(), wedged, status_text, interval=0.001)
    assert not await watchdog.tick()
    assert _drain(listener) == ["STATUS=wedged"]


async def test_watchdog_returns_at_once_when_already_stopping(listener: socket.socket) -> None:
    async def fail() -> bool:
        raise AssertionError("no health check expected")

    async def fail_text() -> str:
        raise AssertionError("no status expected")

    stopping = anyio.Event()
    stopping.set()
    await Watchdog(Notifier(), fail, fail_text, interval=60).run(stopping)
    assert _drain(listener) == []
