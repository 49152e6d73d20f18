"""Pure parts of the dashboard: the page registry, time and JSON filters, shipped files."""

from __future__ import annotations

import fnmatch
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import APIRouter

from supervisor.ui.pages import Page, arrange
from supervisor.ui.render import (
    PREVIEW_CHARS,
    SHOWN_CHARS,
    ago,
    clip,
    exact,
    fold,
    relative,
    ticks,
)

ROOT = Path(__file__).resolve().parents[2]


def test_pages_sort_by_order_and_refuse_a_shared_path() -> None:
    router = APIRouter()
    builtin = [Page("Jobs", "/jobs", router, 20), Page("Overview", "", router, 10)]
    contacts = Page("Contacts", "/contacts", router, 50)
    assert [p.title for p in arrange(builtin, [contacts])] == ["Overview", "Jobs", "Contacts"]
    assert contacts.href == "/ui/contacts" and builtin[1].href == "/ui"
    with pytest.raises(ValueError, match="'Jobs' and 'Mine' both use the path /ui/jobs"):
        arrange(builtin, [Page("Mine", "/jobs", router)])


@pytest.mark.parametrize("path", ["contacts", "/Contacts", "/login", "/static", "/a//b", "/"])
def test_page_paths_are_checked(path: str) -> None:
    with pytest.raises(ValueError, match="dashboard page path"):
        Page("X", path, APIRouter())


def test_relative_times_both_ways() -> None:
    assert relative(2) == "just now"
    assert relative(59) == "59 s ago"
    assert relative(3 * 60 + 5) == "3 min ago"
    assert relative(-7200) == "in 2 h"
    assert relative(3 * 86400) == "3 d ago"
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert ago(now - timedelta(minutes=5), now) == "5 min ago"
    assert ago(None) == "-" and ago("2026-01-01T11:00:00+00:00", now) == "1 h ago"
    assert exact("2026-01-01T13:00:00+01:00") == "2026-01-01 12:00:00 UTC"


def test_fold_and_clip_bound_what_a_page_holds() -> None:
    short = fold({"a": 1})
    assert not short.folded and not short.cut and short.text == '{\n  "a": 1\n}'
    long = fold({"k": "x" * PREVIEW_CHARS})
    assert long.folded and not long.cut
    huge = fold("y" * (SHOWN_CHARS * 3))
    assert huge.cut and len(huge.text) == SHOWN_CHARS and huge.size == SHOWN_CHARS * 3
    assert fold({"lines": list(range(100))}).folded  # many short lines fold too
    assert clip("z" * 2500) == "z" * 2000 + "... (500 more characters)"
    assert clip("short") == "short"


def test_every_dashboard_file_is_package_data() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = data["package-data"]["supervisor"]
    base = ROOT / "supervisor"
    files = [p for folder in ("ui/templates", "ui/static") for p in (base / folder).rglob("*")
             if p.is_file()]
    assert len(files) > 10
    missing = [str(f.relative_to(base)) for f in files
               if not any(fnmatch.fnmatch(str(f.relative_to(base)), pat) for pat in patterns)]
    assert missing == []
    vendored = (base / "ui" / "static" / "vendor" / "VERSIONS").read_text()
    assert "htmx.org 2.0.11" in vendored and "uplot 1.6.32" in vendored


def test_ticks_escape_first_then_mark_commands() -> None:
    assert ticks("run `supervisor job list` <now>") == (
        "run <code>supervisor job list</code> &lt;now&gt;")
    assert ticks("`<script>`") == "<code>&lt;script&gt;</code>"
