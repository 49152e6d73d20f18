"""The daemon runs on uvloop when it is installed, unless told to use asyncio's loop."""

from __future__ import annotations

import importlib.util

import pytest

from supervisor.runtime.eventloop import LOOP_ENV, backend_options


def test_uvloop_is_used_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LOOP_ENV, raising=False)
    expected = {"use_uvloop": True} if importlib.util.find_spec("uvloop") else {}
    assert backend_options() == expected


def test_the_standard_loop_can_be_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOOP_ENV, "asyncio")
    assert backend_options() == {}
