"""The contacts schema on a test database, and a small fixed data set VQL tests select from."""

from __future__ import annotations

from importlib import resources

import asyncpg


def _uuid(tag: str) -> str:
    return f"00000000-0000-4000-8000-{tag:0>12}"


C1, C2, C3 = _uuid("c1"), _uuid("c2"), _uuid("c3")
P1, P2, P3, P4, P5, P6 = (_uuid(f"{i:02d}") for i in range(1, 7))


async def ensure_schema(pool: asyncpg.Pool) -> None:
    """Apply the contacts family's migrations unless the template already has them."""
    async with pool.acquire() as conn:
        if await conn.fetchval("SELECT to_regclass('contacts') IS NOT NULL"):
            return
        folder = resources.files("services.contacts") / "migrations"
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".sql"):
                async with conn.transaction():
                    await conn.execute(entry.read_text())


_COMPANIES = """
INSERT INTO companies (uuid, name, employees_count, industries, country, annual_revenue,
                       technologies, created_at)
VALUES ($1, 'acme corp', 100, '{software,saas}', 'usa', 5000000, '{}', '2024-01-01T00:00Z'),
       ($2, 'globex', 20, '{retail}', 'germany', 100000, '{}', '2024-02-01T00:00Z'),
       ($3, 'initech', 600, '{software}', 'usa', 2000000, '{python,postgres}',
        '2024-03-01T00:00Z')
"""

_CONTACTS = """
INSERT INTO contacts (uuid, first_name, last_name, title, email, company_id, country,
                      departments, seniority, deleted_at)
VALUES ($1, 'john', 'smith', 'Chief Executive Officer', 'john@acme.com', $7, 'usa',
        '{executive}', 'c_suite', NULL),
       ($2, 'jane', 'doe', 'Chief Financial Officer', 'jane@globex.de', $8, 'germany',
        '{finance}', 'c_suite', NULL),
       ($3, 'jon', 'smyth', 'Software Engineer (100% remote)', 'jon@initech.com', $9, 'usa',
        '{engineering}', 'senior', NULL),
       ($4, 'mary', 'major', 'Executive Assistant to the Chief', 'mary@acme.com', $7, 'usa',
        '{executive,admin}', 'entry', NULL),
       ($5, 'bob', NULL, NULL, NULL, NULL, NULL, '{}', NULL, NULL),
       ($6, 'gone', 'away', 'Chief Executive Officer', 'gone@acme.com', $7, 'usa',
        '{executive}', 'c_suite', now())
"""


async def load_fixed_set(pool: asyncpg.Pool) -> None:
    """Three companies and six contacts (P6 soft-deleted), uuids fixed above."""
    await ensure_schema(pool)
    await pool.execute(_COMPANIES, C1, C2, C3)
    await pool.execute(_CONTACTS, P1, P2, P3, P4, P5, P6, C1, C2, C3)
