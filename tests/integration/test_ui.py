"""The dashboard over HTTP (no browser): sessions, CSRF, refusals as pages, escaping, folding."""

from __future__ import annotations

import re
from uuid import uuid4

import asyncpg
import httpx

from supervisor.api.app import create_app
from supervisor.api.jobs import encode_cursor
from supervisor.config import Config
from supervisor.store.api_keys import ApiKeyStore
from supervisor.store.jobs import JobStore
from supervisor.store.nodes import NodeStore
from supervisor.ui.session import COOKIE
from tests.integration.api_support import standalone
from tests.integration.ui_support import csrf_of, log_in, ui_client


async def test_pages_need_a_session_and_login_sets_a_strict_cookie(
    pool: asyncpg.Pool, config: Config,
) -> None:
    async with ui_client(pool, config, logged_in=False) as (client, key):
        sent = await client.get("/ui/jobs?state=open")
        assert sent.status_code == 303
        assert sent.headers["location"] == "/ui/login?next=%2Fui%2Fjobs%3Fstate%3Dopen"
        done = await log_in(client, key)
        assert done.status_code == 303 and done.headers["location"] == "/ui"
        cookie = done.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie
        assert "SameSite=strict" in cookie and "Path=/ui" in cookie
        assert "Secure" not in cookie  # plain HTTP here; over TLS the cookie is Secure
        assert key not in cookie  # the cookie names the key's id, never the key
        page = await client.get("/ui")
        assert page.status_code == 200 and "<h1>Overview</h1>" in page.text


async def test_every_page_sets_a_csp_without_inline_script(pool: asyncpg.Pool,
                                                           config: Config) -> None:
    job = await JobStore(pool).create("noop", {})
    async with ui_client(pool, config) as (client, _):
        for path in ("/", "/ui", "/ui/login", "/ui/jobs", f"/ui/jobs/{job['uuid']}",
                     "/ui/schedules", "/ui/processes", "/ui/overview/live", "/ui/no-such-page",
                     "/ui/jobs?state=nope"):
            page = await client.get(path)
            csp = page.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp, path
            assert page.headers["x-frame-options"] == "DENY", path
            scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S)
            assert all("src=" in attrs and not body.strip() for attrs, body in scripts), path
        api = await client.get("/healthz")
        assert "content-security-policy" not in api.headers  # the API's answers are untouched


async def test_wrong_key_and_csrf_less_login_are_refused(pool: asyncpg.Pool,
                                                         config: Config) -> None:
    async with ui_client(pool, config, logged_in=False) as (client, key):
        wrong = await log_in(client, "sv_" + "A" * 43)
        assert wrong.status_code == 401 and "not a live API key" in wrong.text
        assert COOKIE not in wrong.headers.get("set-cookie", "")
        await client.get("/ui/login")
        forged = await client.post("/ui/login", data={"key": key, "csrf": "guess"})
        assert forged.status_code == 403 and "CSRF" in forged.text
        assert COOKIE not in forged.headers.get("set-cookie", "")


async def test_state_changes_need_the_sessions_csrf_token(pool: asyncpg.Pool,
                                                          config: Config) -> None:
    job = await JobStore(pool).create("noop", {}, run_after=None)
    async with ui_client(pool, config) as (client, _):
        page = await client.get(f"/ui/jobs/{job['uuid']}")
        bare = await client.post(f"/ui/jobs/{job['uuid']}/cancel")
        assert bare.status_code == 403 and "CSRF token is missing" in bare.text
        wrong = await client.post(f"/ui/jobs/{job['uuid']}/cancel", data={"csrf": "x" * 32})
        assert wrong.status_code == 403
        assert (await JobStore(pool).get(job["uuid"]))["status"] == "open"  # type: ignore[index]
        ok = await client.post(f"/ui/jobs/{job['uuid']}/cancel",
                               data={"csrf": csrf_of(page.text)})
        assert ok.status_code == 303 and ok.headers["location"].endswith("?done=cancel")
        assert (await JobStore(pool).get(job["uuid"]))["status"] == "cancelled"  # type: ignore[index]


async def test_stale_or_forged_cookie_and_revoked_key_get_a_page_saying_so(
    pool: asyncpg.Pool, config: Config,
) -> None:
    async with ui_client(pool, config) as (client, _):
        real = client.cookies[COOKIE]
        client.cookies.set(COOKIE, real[:-3] + ("AAA" if not real.endswith("AAA") else "BBB"),
                           path="/ui")
        forged = await client.get("/ui/jobs")
        assert forged.status_code == 401 and "forged cookie" in forged.text
        client.cookies.set(COOKIE, real, path="/ui")
        assert (await client.get("/ui/jobs")).status_code == 200
        await ApiKeyStore(pool).revoke("ui-full")
        client.cookies.set(COOKIE, real, path="/ui")
        app_sessions = client._transport.app.state.ui_sessions  # type: ignore[attr-defined]
        app_sessions._live.clear()  # skip the 5 s cache of live keys
        revoked = await client.get("/ui/jobs")
        assert revoked.status_code == 401 and "revoked" in revoked.text


async def test_bad_input_gets_4xx_pages(pool: asyncpg.Pool, config: Config) -> None:
    async with ui_client(pool, config) as (client, _):
        cases = {
            "/ui/jobs?state=bogus": (400, "is not a job state"),
            "/ui/jobs?cursor=not-a-cursor": (400, "not one the dashboard made"),
            "/ui/jobs?q=%3Cscript%3E": (400, "0-9, a-f"),
            f"/ui/jobs/{uuid4()}": (404, "There is no job"),
            "/ui/jobs/not-a-uuid": (404, "There is no job"),
            "/ui/schedules/nope": (404, "There is no schedule named"),
            "/ui/no-such-page": (404, "There is no dashboard page"),
        }
        for path, (status, text) in cases.items():
            page = await client.get(path)
            assert page.status_code == status, (path, page.text)
            assert text in page.text and page.headers["content-type"].startswith("text/html")
        api = await client.get("/common/nothing-here")
        assert api.status_code == 404 and api.json()["success"] is False  # the API stays JSON


async def test_job_data_is_escaped_and_long_values_folded(pool: asyncpg.Pool,
                                                          config: Config) -> None:
    hostile = "<script>alert('x')</script>"
    store = JobStore(pool)
    small = await store.create("noop", {"name": hostile})
    huge = await store.create("noop", {"blob": "y" * 3_000_000})
    errors = [f"attempt {n}: RuntimeError: {hostile}" for n in range(1, 40)]
    await pool.execute("UPDATE jobs SET status = 'dead', job_response = jsonb_build_object("
                       "'runtime_errors', $2::jsonb) WHERE uuid = $1", small["uuid"], errors)
    async with ui_client(pool, config) as (client, _):
        page = await client.get(f"/ui/jobs/{small['uuid']}")
        assert hostile not in page.text
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page.text
        assert "29 older errors, folded" in page.text
        listing = await client.get("/ui/jobs")
        assert hostile not in listing.text and "&lt;script&gt;" in listing.text
        big = await client.get(f"/ui/jobs/{huge['uuid']}")
        assert big.status_code == 200 and len(big.text) < 200_000
        assert re.search(r"job data: 3,000,0\d\d characters, folded", big.text)
        assert f"supervisor job show {huge['uuid']} --json" in big.text


async def test_jobs_list_filters_and_cursor_pages(pool: asyncpg.Pool, config: Config) -> None:
    store = JobStore(pool)
    await store.create_many("noop", [{"n": n} for n in range(60)])
    odd = await store.create("sleep", {"seconds": 0})
    async with ui_client(pool, config) as (client, _):
        first = await client.get("/ui/jobs?type=noop")
        assert first.text.count('name="uuid"') == 50
        following = re.search(r'href="([^"]+)" id="next-page"', first.text)
        assert following
        second = await client.get(following[1].replace("&amp;", "&"))
        assert second.text.count('name="uuid"') == 10 and 'id="next-page"' not in second.text
        part = str(odd["uuid"])[9:18]
        found = await client.get(f"/ui/jobs?q={part}")
        assert found.text.count('name="uuid"') == 1 and str(odd["uuid"]) in found.text
        none = await client.get("/ui/jobs?state=dead")
        assert "No job matches these filters" in none.text
        stale = await client.get(f"/ui/jobs?cursor={encode_cursor(1)}")
        assert stale.status_code == 200 and "No job matches" in stale.text


async def test_bulk_cancel_and_retry(pool: asyncpg.Pool, config: Config) -> None:
    store = JobStore(pool)
    jobs = [await store.create("noop", {}) for _ in range(3)]
    async with ui_client(pool, config) as (client, _):
        token = csrf_of((await client.get("/ui/jobs")).text)
        uuids = [str(j["uuid"]) for j in jobs]
        done = await client.post("/ui/jobs", data={
            "csrf": token, "action": "cancel", "uuid": uuids,
            "back": "/ui/jobs?state=open"})
        assert done.status_code == 303
        assert done.headers["location"] == "/ui/jobs?state=open&done=bulk_cancel&n=3&of=3"
        again = await client.post("/ui/jobs", data={"csrf": token, "action": "retry",
                                                    "uuid": uuids[:2], "back": "https://evil"})
        assert again.headers["location"] == "/ui/jobs?done=bulk_retry&n=2&of=2"
        notice = await client.get(again.headers["location"])
        assert "Re-opened 2 of 2 selected jobs" in notice.text
        rows = await pool.fetch("SELECT status FROM jobs ORDER BY id")
        assert [r["status"] for r in rows] == ["open", "open", "cancelled"]
        bad = await client.post("/ui/jobs", data={"csrf": token, "action": "drop",
                                                  "uuid": uuids})
        assert bad.status_code == 400 and "cancel or retry" in bad.text

        listing = await client.get("/ui/jobs?state=open&type=noop")
        assert 'id="all-retry"' in listing.text
        every = await client.post("/ui/jobs/matching", data={
            "csrf": token, "action": "cancel", "state": ["open"], "type": "noop"})
        assert every.headers["location"] == ("/ui/jobs?state=open&type=noop&done=all_cancel"
                                             "&n=2")
        assert await pool.fetchval("SELECT count(*) FROM jobs WHERE status = 'cancelled'") == 3
        unfiltered = await client.post("/ui/jobs/matching", data={"csrf": token,
                                                                  "action": "retry"})
        assert unfiltered.headers["location"].endswith("done=all_refused")


async def test_schedule_actions(pool: asyncpg.Pool, config: Config) -> None:
    async with ui_client(pool, config) as (client, _):
        empty = await client.get("/ui/schedules")
        assert "No schedules yet" in empty.text and "supervisor schedule add" in empty.text
        ctx = client._transport.app.state.ctx  # type: ignore[attr-defined]
        from supervisor.schedule.service import ScheduleSpec

        await ctx.schedules.create(ScheduleSpec(name="hourly", cron="0 * * * *",
                                                timezone="America/New_York", job_type="noop"))
        listing = await client.get("/ui/schedules")
        assert "America/New_York" in listing.text and "UTC" in listing.text
        token = csrf_of(listing.text)
        paused = await client.post("/ui/schedules/hourly/pause",
                                   data={"csrf": token, "back": "list"})
        assert paused.headers["location"] == "/ui/schedules?done=pause"
        assert await pool.fetchval("SELECT active FROM scheduled_jobs") is False
        fired = await client.post("/ui/schedules/hourly/trigger", data={"csrf": token})
        assert fired.headers["location"] == "/ui/schedules/hourly?done=trigger"
        page = await client.get(fired.headers["location"])
        assert "one run was created" in page.text and "triggered" in page.text
        assert (await client.post("/ui/schedules/hourly/explode",
                                  data={"csrf": token})).status_code == 404


async def test_read_only_key_sees_everything_and_changes_nothing(
    pool: asyncpg.Pool, config: Config,
) -> None:
    job = await JobStore(pool).create("noop", {})
    async with ui_client(pool, config, kind="read_only") as (client, _key):
        page = await client.get(f"/ui/jobs/{job['uuid']}")
        assert page.status_code == 200 and "read-only" in page.text
        assert 'id="cancel"' not in page.text
        listing = await client.get("/ui/jobs")
        assert 'id="bulk-retry"' not in listing.text
        refused = await client.post(f"/ui/jobs/{job['uuid']}/cancel",
                                    data={"csrf": csrf_of(page.text)})
        assert refused.status_code == 403 and "read-only API key" in refused.text
        assert (await JobStore(pool).get(job["uuid"]))["status"] == "open"  # type: ignore[index]
        out = await client.post("/ui/logout", data={"csrf": csrf_of(page.text)})
        assert out.status_code == 303  # logging out changes no job: allowed


async def test_read_only_key_in_the_api(pool: asyncpg.Pool, config: Config) -> None:
    key, _ = await ApiKeyStore(pool).create("viewer", "read_only")
    job = await JobStore(pool).create("noop", {})
    async with ui_client(pool, config, logged_in=False) as (client, _):
        client.headers["X-API-Key"] = key
        assert (await client.get(f"/common/jobs/{job['uuid']}")).status_code == 200
        listed = await client.post("/common/jobs", json={})
        assert listed.status_code == 200 and listed.json()["data"]
        assert (await client.get("/common/schedules")).status_code == 200
        changes = [
            ("POST", "/common/jobs/create", {"job_type": "noop", "job_data": {}}),
            ("POST", f"/common/jobs/{job['uuid']}/cancel", None),
            ("POST", f"/common/jobs/{job['uuid']}/retry", None),
            ("POST", "/common/schedules/create", {"name": "x", "cron": "* * * * *",
                                                  "job_type": "noop"}),
            ("PATCH", "/common/schedules/x", {"active": False}),
            ("POST", "/common/schedules/x/pause", None),
            ("POST", "/common/schedules/x/trigger", None),
            ("DELETE", "/common/schedules/x", None),
            ("POST", "/common/jobs/cancel", {"status": ["open"]}),
            ("POST", "/common/jobs/retry", {"status": ["dead"]}),
        ]
        for method, path, body in changes:
            answer = await client.request(method, path, json=body)
            assert answer.status_code == 403, (method, path, answer.text)
            assert answer.json()["error"].startswith("ERR_READ_ONLY_KEY"), path
        assert await pool.fetchval("SELECT count(*) FROM jobs") == 1


async def test_landing_page_links_the_dashboard(pool: asyncpg.Pool, config: Config) -> None:
    async with ui_client(pool, config, logged_in=False) as (client, _):
        home = await client.get("/")
        assert home.status_code == 200 and 'href="/ui"' in home.text
        assert 'href="/docs"' in home.text
        static = await client.get("/ui/static/vendor/htmx.min.js")
        assert static.status_code == 200 and "htmx" in static.text[:2000]


async def test_overview_figures_chart_and_processes(pool: asyncpg.Pool, config: Config) -> None:
    store = JobStore(pool)
    await store.create_many("noop", [{} for _ in range(5)])
    await store.create("sleep", {"seconds": 1})
    await pool.execute("UPDATE jobs SET status = 'completed', finished_at = now() "
                       "WHERE id IN (SELECT id FROM jobs ORDER BY id LIMIT 3)")
    await pool.execute("UPDATE jobs SET status = 'dead', finished_at = now() - interval "
                       "'5 minutes' WHERE job_type = 'sleep'")
    node = uuid4()
    nodes = NodeStore(pool)
    await nodes.register(node, "box-1", 4242, ["first_time", "scheduler"])
    await nodes.heartbeat(node, "box-1", 4242, ["first_time", "scheduler"], {
        "queue_depth": {"first_time": 7}, "running": {"first_time": 2}, "per_minute": 30,
        "finished": 90, "stalled": ["retry"], "progress_age": {"retry": 400, "scheduler": 3}})
    async with ui_client(pool, config) as (client, _):
        page = await client.get("/ui")
        assert '<span class="value" data-state="completed">3</span>' in page.text
        assert '<span class="value" data-state="open">2</span>' in page.text
        assert '<span class="value" id="alive">1</span>' in page.text
        assert "<strong>retry</strong> in pid 4242 on box-1" in page.text
        assert 'hx-trigger="every 2s"' in page.text
        chart = (await client.get("/ui/overview/throughput.json")).json()
        assert len(chart["minutes"]) == 60
        assert sum(chart["completed"]) == 3 and sum(chart["failed"]) == 1
        assert chart["completed"][-1] == 3 or chart["completed"][-2] == 3  # this minute
        procs = await client.get("/ui/processes/live")
        assert "box-1" in procs.text and "first_time 7 / 2" in procs.text
        assert "no progress: retry" in procs.text and "first_time, scheduler" in procs.text


async def test_session_cookie_is_secure_over_tls(pool: asyncpg.Pool, config: Config) -> None:
    key, _ = await ApiKeyStore(pool).create("tls")
    app = create_app(standalone(pool, config))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="https://dash.test") as client:
        done = await log_in(client, key)
        assert done.status_code == 303 and "Secure" in done.headers["set-cookie"]
        assert (await client.get("/ui/jobs")).status_code == 200
