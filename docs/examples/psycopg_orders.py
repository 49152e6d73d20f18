"""The same order and receipt job in one transaction, with blocking psycopg 3 (Django, scripts).

In Django (4.2+ with psycopg 3) the connection is `django.db.connection.connection` inside
`transaction.atomic()`; here it is a plain psycopg connection.
"""

from __future__ import annotations

import psycopg

from supervisor import client


def place_order(conn: psycopg.Connection, email: str, total_cents: int) -> tuple[int, str]:
    """Write the order and its receipt job together; (order id, job uuid)."""
    with conn.transaction():
        row = conn.execute("INSERT INTO orders (email, total_cents) VALUES (%s, %s) RETURNING id",
                           (email, total_cents)).fetchone()
        assert row is not None
        job = client.enqueue_sync(conn, "send_receipt", {"order_id": row[0]},
                                  unique_key=f"receipt:{row[0]}", validate=False)
    return row[0], str(job.uuid)
