"""An order endpoint that writes its row and its receipt job in one transaction.

Run it with `uvicorn docs.examples.fastapi_orders:app` (DATABASE_URL in the environment);
the daemon, which has the `send_receipt` job type installed, runs the jobs.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI
from pydantic import BaseModel

from supervisor import client

SCHEMA = """CREATE TABLE IF NOT EXISTS orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL,
    total_cents integer NOT NULL)"""


class Order(BaseModel):
    """What the shop posts."""

    email: str
    total_cents: int


def create_app(dsn: str) -> FastAPI:
    """The shop's API on the database at `dsn` (the daemon's, where the jobs table is)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(dsn, min_size=1, max_size=10)
        await app.state.pool.execute(SCHEMA)
        yield
        await app.state.pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/orders", status_code=201)
    async def create_order(order: Order) -> dict[str, object]:
        async with app.state.pool.acquire() as conn, conn.transaction():
            order_id = await conn.fetchval(
                "INSERT INTO orders (email, total_cents) VALUES ($1, $2) RETURNING id",
                order.email, order.total_cents)
            if order.total_cents <= 0:
                raise ValueError("an order needs a positive total")  # rolls both back
            # Same transaction: the receipt job exists exactly when the order does. The web
            # app does not run jobs, so it skips the payload check (the daemon does it).
            job = await client.enqueue(conn, "send_receipt", {"order_id": order_id},
                                       unique_key=f"receipt:{order_id}", validate=False)
        return {"order_id": order_id, "receipt_job": str(job.uuid)}

    return app


if "DATABASE_URL" in os.environ:
    app = create_app(os.environ["DATABASE_URL"])
