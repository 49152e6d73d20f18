"""The examples of docs/client.md run as written: order and receipt job commit together."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import asyncpg
import httpx
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_fastapi_example_writes_order_and_job_together(
    db_dsn: str, pool: asyncpg.Pool,
) -> None:
    app = _load("fastapi_orders").create_app(db_dsn)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://shop") as shop:
            made = await shop.post("/orders", json={"email": "a@example.com", "total_cents": 900})
            refused = await shop.post("/orders", json={"email": "b@example.com",
                                                       "total_cents": 0})
    assert made.status_code == 201 and refused.status_code == 500
    order_id = made.json()["order_id"]
    jobs = await pool.fetch("SELECT uuid::text, job_type, data, unique_key FROM jobs")
    assert [(j["job_type"], j["data"], j["unique_key"]) for j in jobs] == [
        ("send_receipt", {"order_id": order_id}, f"receipt:{order_id}")]
    assert jobs[0]["uuid"] == made.json()["receipt_job"]
    assert await pool.fetchval("SELECT count(*) FROM orders") == 1  # the refused one rolled back


def test_psycopg_example_places_an_order(db_dsn: str) -> None:
    psycopg = pytest.importorskip("psycopg")
    example = _load("psycopg_orders")
    with psycopg.connect(db_dsn) as conn:
        conn.execute(_load("fastapi_orders").SCHEMA)
        conn.commit()
        order_id, uuid = example.place_order(conn, "c@example.com", 1200)
        row = conn.execute("SELECT job_type, data->>'order_id' FROM jobs WHERE uuid = %s",
                           (uuid,)).fetchone()
    assert row == ("send_receipt", str(order_id))
