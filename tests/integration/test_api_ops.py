"""Operations endpoints, OpenAPI, auth, body limits, and the api service in the daemon."""

from __future__ import annotations

import asyncio
import io
import logging
import socket
import stat
import sys
from pathlib import Path

import anyio
import asyncpg
import httpx
import pytest

from supervisor.api.service import FIRST_KEY_FILE, ApiService, ensure_first_key
from supervisor.config import Config
from supervisor.daemon import Daemon
from supervisor.families import discover
from supervisor.store.api_keys import ApiKeyStore
from tests.integration.api_support import api_client, standalone

CREATE = "/common/jobs/create"
NOOP = {"job_type": "noop", "job_data": {}}


async def test_healthz_answers_without_a_key(pool: asyncpg.Pool, config: Config) -> None:
    async with api_client(pool, config) as (client, _):
        r = await client.get("/healthz", headers={"X-API-Key": ""})
    assert r.status_code == 200 and r.json() == {"status": "ok"}


async def test_readyz_is_ready_when_the_database_answers(pool: asyncpg.Pool,
                                                         config: Config) -> None:
    async with api_client(pool, config) as (client, _):
        r = await client.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready"


async def test_readyz_says_draining_during_shutdown(pool: asyncpg.Pool, config: Config) -> None:
    async with api_client(pool, config) as (client, rt):
        rt.draining = True
        r = await client.get("/readyz")
    assert r.status_code == 503 and r.json() == {"status": "draining"}


async def test_readyz_is_503_when_the_database_is_gone(db_dsn: str, config: Config) -> None:
    from supervisor.store.db import create_pool

    pool = await create_pool(db_dsn, min_size=1, max_size=2)
    async with api_client(pool, config) as (client, _):
        await pool.close()
        r = await client.get("/readyz")
    assert r.status_code == 503 and r.json()["status"] == "database unavailable"


async def test_metrics_show_jobs_by_state_and_type_and_runtime_histograms(
    pool: asyncpg.Pool, config: Config,
) -> None:
    async with api_client(pool, config) as (client, rt):
        await rt.jobs.create("noop", {})
        r = await client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert 'supervisor_jobs{job_type="noop",status="open"} 1.0' in text
    assert 'supervisor_jobs{job_type="noop",status="dead"} 0.0' in text
    for name in ("supervisor_oldest_ready_job_age_seconds", "supervisor_jobs_finished_total",
                 "supervisor_job_run_seconds", "supervisor_job_pickup_seconds",
                 "supervisor_queue_depth", "supervisor_schedule_lateness_seconds"):
        assert f"# TYPE {name}" in text, name


async def test_openapi_document_and_docs_page(pool: asyncpg.Pool, config: Config) -> None:
    async with api_client(pool, config) as (client, _):
        doc = (await client.get("/openapi.json")).json()
        page = await client.get("/docs")
    assert {"/common/jobs/create", "/common/jobs", "/healthz", "/readyz", "/metrics"} <= set(
        doc["paths"])
    create = doc["paths"]["/common/jobs/create"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/CreateJob")
    assert "noop" in doc["components"]["schemas"]["CreateJob"]["properties"]["job_type"]["enum"]
    assert doc["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"
    assert page.status_code == 200 and "swagger" in page.text.lower()


async def test_missing_key_is_401(pool: asyncpg.Pool, config: Config) -> None:
    async with api_client(pool, config) as (client, _):
        client.headers.pop("X-API-Key")
        r = await client.post(CREATE, json=NOOP)
    assert r.status_code == 401
    assert r.json()["success"] is False and "X-API-Key header is missing" in r.json()["error"]


async def test_wrong_key_is_401(pool: asyncpg.Pool, config: Config) -> None:
    async with api_client(pool, config) as (client, _):
        r = await client.post(CREATE, json=NOOP, headers={"X-API-Key": "sv_" + "x" * 43})
    assert r.status_code == 401 and "not a live API key" in r.json()["error"]


async def test_revoked_key_is_401(pool: asyncpg.Pool, config: Config) -> None:
    async with api_client(pool, config, key_cache_seconds=0) as (client, _):
        assert (await client.post(CREATE, json=NOOP)).status_code == 201
        await ApiKeyStore(pool).revoke("tests")
        r = await client.post(CREATE, json=NOOP)
    assert r.status_code == 401


async def test_keys_are_stored_hashed(pool: asyncpg.Pool) -> None:
    keys = ApiKeyStore(pool)
    key, row = await keys.create("ci")
    stored = await pool.fetchrow("SELECT * FROM api_keys WHERE id = $1", row["id"])
    assert key.encode() not in bytes(stored["key_hash"]) and len(stored["key_hash"]) == 32
    assert stored["prefix"] == key[:11] and await keys.verify(key) == row["id"]
    assert await keys.verify(key[:-1] + ("A" if key[-1] != "A" else "B")) is None


async def test_auth_is_checked_before_the_body(pool: asyncpg.Pool, config: Config) -> None:
    async with api_client(pool, config) as (client, _):
        r = await client.post(CREATE, content=b"{not json", headers={"X-API-Key": ""})
    assert r.status_code == 401


async def test_body_over_the_limit_is_413(pool: asyncpg.Pool, config: Config) -> None:
    async with api_client(pool, config, max_body=1000) as (client, _):
        big = {"job_type": "noop", "job_data": {"blob": "x" * 2000}}
        r = await client.post(CREATE, json=big)
    assert r.status_code == 413
    assert r.json() == {"error": r.json()["error"], "success": False}
    assert "over 1000 bytes" in r.json()["error"]


async def test_chunked_body_over_the_limit_is_413(pool: asyncpg.Pool, config: Config) -> None:
    async def chunks() -> object:
        for _ in range(10):
            yield b" " * 500

    async with api_client(pool, config, max_body=1000) as (client, _):
        r = await client.post(CREATE, content=chunks())
    assert r.status_code == 413


async def test_unknown_path_and_wrong_method_use_the_error_shape(
    pool: asyncpg.Pool, config: Config,
) -> None:
    async with api_client(pool, config) as (client, _):
        missing = await client.get("/common/nothing")
        wrong = await client.delete(CREATE)
    assert missing.status_code == 404 and missing.json()["error"].startswith("ERR_NOT_FOUND")
    assert wrong.status_code == 405 and "POST" in wrong.json()["error"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_first_key_is_printed_once_on_a_terminal(
    pool: asyncpg.Pool, config: Config, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    rt = standalone(pool, config.with_overrides(data_dir=str(tmp_path)))
    await ensure_first_key(rt)
    await ensure_first_key(rt)
    err = terminal.getvalue()
    rows = await ApiKeyStore(pool).list()
    assert [r["name"] for r in rows] == ["default"]
    assert err.count("sv_") == 2 and "curl -H 'X-API-Key: sv_" in err  # the key and the example
    key = err.split("X-API-Key: ")[1].split("'")[0]
    assert await ApiKeyStore(pool).verify(key) == rows[0]["id"]
    assert not (tmp_path / FIRST_KEY_FILE).exists()


async def test_first_key_goes_to_a_private_file_when_stderr_is_a_log(
    pool: asyncpg.Pool, config: Config, capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture, tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    (data_dir).mkdir()
    (data_dir / FIRST_KEY_FILE).write_text("stale")
    (data_dir / FIRST_KEY_FILE).chmod(0o644)
    caplog.set_level(logging.INFO)
    await ensure_first_key(standalone(pool, config.with_overrides(data_dir=str(data_dir))))
    saved = data_dir / FIRST_KEY_FILE
    key = saved.read_text().split("X-API-Key: ")[1].split("'")[0]
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert await ApiKeyStore(pool).verify(key) is not None
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert str(saved) in logged and key not in logged
    assert "sv_" not in capsys.readouterr().err


async def test_api_service_serves_until_stopping(pool: asyncpg.Pool, config: Config) -> None:
    service = ApiService(standalone(pool, config))
    stopping = asyncio.Event()
    async with anyio.create_task_group() as tg:
        await tg.start(service.run, stopping)
        async with httpx.AsyncClient() as client:
            r = await client.get(f"http://127.0.0.1:{service.port}/healthz")
        assert r.status_code == 200
        stopping.set()
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(f"http://127.0.0.1:{service.port}/healthz")


async def test_daemon_runs_the_api_service_alone(config: Config) -> None:
    port = _free_port()
    daemon = Daemon(config.with_overrides(api_port=port), discover(), only=["api"])
    async with anyio.create_task_group() as tg:
        tg.start_soon(daemon.run)
        await daemon.started.wait()
        async with httpx.AsyncClient() as client:
            r = await client.get(f"http://127.0.0.1:{port}/healthz")
        assert r.status_code == 200
        daemon.request_stop("test")
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as client:
            await client.get(f"http://127.0.0.1:{port}/healthz")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
