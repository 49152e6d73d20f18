"""The dashboard in a real browser (Playwright driving Debian's Chromium) against a daemon.

Skipped, with the reason, where /usr/bin/chromium or the playwright package is missing
(`apt-get install chromium`; `pip install -e '.[test]'`). Screenshots of every page are saved
under the test's tmp dir; the path is printed (pytest -s shows it, -ra lists skips).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from supervisor.families import discover
from supervisor.schedule.service import ScheduleService, ScheduleSpec
from supervisor.store.api_keys import ApiKeyStore
from supervisor.store.jobs import JobStore
from tests.e2e.procs import DaemonProc
from tests.helpers import eventually

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
try:
    from playwright.async_api import Browser, Page, async_playwright, expect
except ImportError:  # pragma: no cover - the test extra installs it
    pytest.skip("browser tests skipped: the playwright package is not installed "
                "(pip install -e '.[test]')", allow_module_level=True)
if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(f"browser tests skipped: no Chromium at {CHROMIUM} (apt-get install chromium, "
                "or set CHROMIUM to a Chromium binary)", allow_module_level=True)

pytestmark = pytest.mark.slow
WAIT_MS = 20_000  # a bound for the browser's waits, never a measured figure


@dataclass
class Dashboard:
    """A daemon serving the dashboard, a key for it, and where screenshots go."""

    url: str
    key: str
    pool: asyncpg.Pool
    jobs: JobStore
    shots: Path
    daemon: DaemonProc

    async def shot(self, page: Page, name: str) -> None:
        """Save a full-page screenshot as NAME.png."""
        await page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True)


def _api_url(log: Path) -> str | None:
    for line in log.read_text(errors="replace").splitlines():
        if '"api_start"' in line:
            return str(json.loads(line)["url"])
    return None


@pytest.fixture
async def dashboard(db_dsn: str, pool: asyncpg.Pool, tmp_path: Path,
                    ) -> AsyncIterator[Dashboard]:
    """`supervisor run` with every service, its API's URL and a fresh key."""
    key, _ = await ApiKeyStore(pool).create("browser")
    log = tmp_path / "daemon.log"
    daemon = DaemonProc(db_dsn, log)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    try:
        async def bound() -> bool:
            assert daemon.p.poll() is None, daemon.tail()
            return _api_url(log) is not None

        await eventually(bound, timeout=60, what="the api service to start")
        url = _api_url(log)
        assert url is not None
        yield Dashboard(url, key, pool, JobStore(pool), shots, daemon)
    finally:
        daemon.kill()
        print(f"\ndashboard screenshots: {shots}")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Chromium, headless."""
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM)
        yield launched
        await launched.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh browser page that records console errors (a CSP violation is one)."""
    context = await browser.new_context(viewport={"width": 1280, "height": 860})
    tab = await context.new_page()
    tab.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    await context.close()
    # 4xx pages the tests ask for are logged by Chromium as failed loads; anything else fails.
    assert [e for e in errors if "status of 4" not in e] == []


async def log_in(page: Page, d: Dashboard, key: str | None = None) -> None:
    """Fill in the login form."""
    await page.goto(d.url + "/ui/login")
    await page.fill("#key", key or d.key)
    await page.click("button[type=submit]")


async def _status(pool: asyncpg.Pool, uuid: Any) -> str:
    return str(await pool.fetchval("SELECT status FROM jobs WHERE uuid = $1", uuid))


async def _mark_dead(pool: asyncpg.Pool, uuid: Any) -> None:
    """Make a job look like one that used up its retries."""
    await pool.execute("UPDATE jobs SET status = 'dead', attempts = 1, finished_at = now(), "
                       "job_response = '{\"runtime_errors\": [\"attempt 1: RuntimeError: "
                       "boom\"]}' WHERE uuid = $1", uuid)


async def test_login_live_updates_and_logout(dashboard: Dashboard, page: Page) -> None:
    d = dashboard
    await log_in(page, d, "sv_" + "x" * 43)
    await expect(page.locator(".error")).to_contain_text("not a live API key")
    await d.shot(page, "login-refused")

    await log_in(page, d)
    await expect(page.locator("h1")).to_have_text("Overview")
    await expect(page.locator(".empty")).to_contain_text("supervisor job create noop")
    await d.shot(page, "overview-empty")
    await page.evaluate("window.__stayed = true")  # gone if the page reloads

    job = await d.jobs.create("sleep", {"seconds": 1.5})
    await expect(page.locator("[data-state=completed]")).to_have_text("1", timeout=WAIT_MS)
    assert await page.evaluate("window.__stayed") is True
    await page.wait_for_timeout(300)  # let the chart's first fetch land before the picture
    await d.shot(page, "overview")

    second = await d.jobs.create("sleep", {"seconds": 2})
    await page.goto(f"{d.url}/ui/jobs/{second['uuid']}")
    await page.evaluate("window.__stayed = true")
    await expect(page.locator("#job-status")).to_have_text("completed", timeout=WAIT_MS)
    assert await page.evaluate("window.__stayed") is True
    await expect(page.locator("#job-live")).to_contain_text("slept 2s")
    await d.shot(page, "job-completed")

    await page.goto(d.url + "/ui/jobs")
    await expect(page.locator(f"tr[data-uuid='{job['uuid']}']")).to_contain_text("completed")
    await d.shot(page, "jobs")
    await page.goto(d.url + "/ui/processes")
    await expect(page.locator("#processes")).to_contain_text("alive")
    await d.shot(page, "processes")

    await page.click("#logout")
    await expect(page.locator(".notice")).to_contain_text("logged out")
    await page.goto(d.url + "/ui/jobs")
    await expect(page.locator("h1")).to_have_text("Log in")


async def test_cancel_a_running_sleep_job_from_its_page(dashboard: Dashboard,
                                                        page: Page) -> None:
    d = dashboard
    await log_in(page, d)
    job = await d.jobs.create("sleep", {"seconds": 120})
    await page.goto(f"{d.url}/ui/jobs/{job['uuid']}")
    await expect(page.locator("#job-status")).to_have_text("processing", timeout=WAIT_MS)
    await expect(page.locator("progress")).to_be_visible(timeout=WAIT_MS)
    await d.shot(page, "job-running")
    await page.click("#cancel")
    await expect(page.locator(".notice")).to_have_text("Job cancelled.")
    await expect(page.locator("#job-status")).to_have_text("cancelled")
    assert await _status(d.pool, job["uuid"]) == "cancelled"
    await d.shot(page, "job-cancelled")


async def test_retry_a_dead_job(dashboard: Dashboard, page: Page) -> None:
    d = dashboard
    await log_in(page, d)
    job = await d.jobs.create("noop", {})
    await eventually(lambda: _done(d.pool, job["uuid"]), what="the job to complete")
    await _mark_dead(d.pool, job["uuid"])
    await page.goto(f"{d.url}/ui/jobs/{job['uuid']}")
    await expect(page.locator(".errors")).to_contain_text("RuntimeError: boom")
    await d.shot(page, "job-dead")
    await page.click("#retry")
    await expect(page.locator(".notice")).to_contain_text("re-opened")
    await expect(page.locator("#job-status")).to_have_text("completed", timeout=WAIT_MS)
    row = await d.pool.fetchrow("SELECT status, attempts FROM jobs WHERE uuid = $1", job["uuid"])
    assert (row["status"], row["attempts"]) == ("completed", 2)  # runs keep their numbers


async def _done(pool: asyncpg.Pool, uuid: Any) -> bool:
    return await _status(pool, uuid) == "completed"


async def test_pause_resume_and_trigger_a_schedule(dashboard: Dashboard, page: Page) -> None:
    d = dashboard
    await log_in(page, d)
    await page.goto(d.url + "/ui/schedules")
    await expect(page.locator(".empty")).to_contain_text("supervisor schedule add")
    await ScheduleService(d.pool, discover().registry).create(ScheduleSpec(
        name="nightly-export", cron="30 2 * * *", timezone="Europe/Warsaw", job_type="noop"))
    await page.reload()
    row = page.locator("tr[data-name='nightly-export']")
    await expect(row).to_contain_text("CET")
    await d.shot(page, "schedules")
    await row.get_by_role("button", name="Pause").click()
    await expect(page.locator(".notice")).to_contain_text("Schedule paused")
    await expect(row.locator(".badge.paused")).to_be_visible()
    assert await d.pool.fetchval(
        "SELECT active FROM scheduled_jobs WHERE name = 'nightly-export'") is False

    await row.locator("a").first.click()
    await page.click("#trigger")
    await expect(page.locator(".notice")).to_contain_text("one run was created")
    await expect(page.locator("#occurrences")).to_contain_text("fired")
    await page.click("#resume")
    await expect(page.locator(".notice")).to_contain_text("Schedule resumed")
    await expect(page.locator("#occurrences")).to_contain_text("completed", timeout=WAIT_MS)
    await d.shot(page, "schedule")
    assert await d.pool.fetchval("SELECT count(*) FROM jobs j JOIN scheduled_jobs s ON "
                                 "s.id = j.schedule_id WHERE s.name = 'nightly-export'") == 1


async def test_bulk_retry_three_failed_jobs(dashboard: Dashboard, page: Page) -> None:
    d = dashboard
    await log_in(page, d)
    made = [await d.jobs.create("noop", {"n": n}) for n in range(4)]
    for job in made:
        await eventually(lambda job=job: _done(d.pool, job["uuid"]), what="jobs to complete")
    for job in made[:3]:
        await _mark_dead(d.pool, job["uuid"])
    await page.goto(d.url + "/ui/jobs?state=dead")
    await expect(page.locator("tbody tr")).to_have_count(3)
    await page.check("input[data-select-all]")
    await expect(page.locator("[data-selected-count]")).to_have_text("3 selected:")
    await d.shot(page, "jobs-selected")
    await page.click("#bulk-retry")
    await expect(page.locator(".notice")).to_contain_text("Re-opened 3 of 3")

    async def all_done() -> bool:
        return all([await _done(d.pool, j["uuid"]) for j in made])

    await eventually(all_done, timeout=30, what="the three retried jobs to complete")


async def test_csrf_less_post_refused_and_script_in_data_shown_as_text(
    dashboard: Dashboard, page: Page,
) -> None:
    d = dashboard
    await log_in(page, d)
    hostile = "<script>window.__pwned = 1</script><img src=x onerror=alert(1)>"
    job = await d.jobs.create("sleep", {"seconds": 120})
    shown = await d.jobs.create("noop", {"note": hostile, "blob": "x" * 50_000})
    refused = await page.request.post(f"{d.url}/ui/jobs/{job['uuid']}/cancel",
                                      form={"action": "cancel"})
    assert refused.status == 403 and "CSRF" in await refused.text()
    assert await _status(d.pool, job["uuid"]) != "cancelled"

    await page.goto(f"{d.url}/ui/jobs/{shown['uuid']}")
    fold = page.locator("details.fold").first
    await expect(fold.locator("summary")).to_contain_text("folded")
    await fold.locator("summary").click()
    await expect(fold.locator("pre")).to_contain_text(hostile)
    assert await page.evaluate("window.__pwned") is None
    assert await page.locator("pre img").count() == 0
    await d.shot(page, "job-hostile-data")

    await page.goto(d.url + "/ui/jobs?state=bogus")
    await expect(page.locator("h1")).to_contain_text("Unknown job state")
    await d.shot(page, "error-unknown-state")


async def test_phone_width_and_dark_scheme(dashboard: Dashboard, browser: Browser) -> None:
    d = dashboard
    context = await browser.new_context(viewport={"width": 390, "height": 844},
                                        color_scheme="dark", is_mobile=True)
    tab = await context.new_page()
    tab.set_default_timeout(WAIT_MS)
    await log_in(tab, d)
    await d.jobs.create("noop", {})
    await expect(tab.locator("[data-state=completed]")).to_have_text("1", timeout=WAIT_MS)
    background = await tab.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(15, 18, 24)"  # the dark palette's --bg
    width = await tab.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the overview scrolls sideways on a phone"
    await d.shot(tab, "overview-phone-dark")
    await tab.goto(d.url + "/ui/jobs")
    await d.shot(tab, "jobs-phone-dark")
    await context.close()


async def test_read_only_key_sees_no_action(dashboard: Dashboard, page: Page) -> None:
    d = dashboard
    viewer_key, _ = await ApiKeyStore(d.pool).create("viewer", "read_only")
    await page.goto(d.url + "/")
    await expect(page.locator("a[href='/ui']")).to_be_visible()
    await d.shot(page, "landing")
    await log_in(page, d, viewer_key)
    await expect(page.locator(".badge.ro")).to_have_text("read-only")
    job = await d.jobs.create("sleep", {"seconds": 120})
    await page.goto(f"{d.url}/ui/jobs/{job['uuid']}")
    await expect(page.locator("#job-status")).to_have_text("processing", timeout=WAIT_MS)
    assert await page.locator("#cancel").count() == 0
    await page.goto(d.url + "/ui/jobs")
    assert await page.locator("#bulk-retry").count() == 0
    await d.shot(page, "jobs-read-only")
