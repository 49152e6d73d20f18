"""Fixtures of the chaos tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.procs import DaemonProc


@pytest.fixture
def procs() -> Iterator[list[DaemonProc]]:
    """Daemons a test started; killed at the end whatever happened."""
    started: list[DaemonProc] = []
    yield started
    for p in started:
        p.kill()
