"""The process registry: who is alive, and rescuing what the dead left behind."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg

from supervisor.store.sql import q


class NodeStore:
    """Reads and writes of the nodes table, and the rescue statement."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def register(self, node_id: UUID, hostname: str, pid: int, roles: Sequence[str]) -> None:
        """Record a starting process."""
        await self.pool.execute(q("register_node"), node_id, hostname, pid, list(roles))

    async def heartbeat(
        self, node_id: UUID, hostname: str, pid: int, roles: Sequence[str], info: dict[str, Any]
    ) -> None:
        """Prove this process is alive, with a few live figures for `supervisor status`."""
        await self.pool.execute(q("heartbeat_node"), node_id, hostname, pid, list(roles), info)

    async def stop(self, node_id: UUID) -> None:
        """Mark a process as cleanly stopped."""
        await self.pool.execute(q("stop_node"), node_id)

    async def list(self) -> list[asyncpg.Record]:
        """Processes seen in the last day, newest first."""
        rows: list[asyncpg.Record] = await self.pool.fetch(q("list_nodes"))
        return rows

    async def rescue(
        self, stale_seconds: float, rescue_limit: int, rescuer: UUID | None = None
    ) -> builtins.list[asyncpg.Record]:
        """Return jobs held by processes that stopped heartbeating (never `rescuer`'s own)."""
        rows: builtins.list[asyncpg.Record] = await self.pool.fetch(
            q("rescue_orphans"), float(stale_seconds), rescue_limit, rescuer
        )
        return rows
