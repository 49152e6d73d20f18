"""The cluster as `supervisor status` and the dashboard show it: processes and jobs, judged.

Pure functions of the nodes rows and the job counts, so the CLI and the dashboard report the
same states by the same rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from supervisor.states import ALL_STATUSES

RECENT = 86400.0  # without show_all, processes silent for longer than this are left out


def _state(row: Mapping[str, Any], stale_seconds: float) -> str:
    if row["stopped_at"] is not None:
        return "stopped"
    return "alive" if float(row["heartbeat_age"]) <= stale_seconds else "stale"


def _process(row: Mapping[str, Any], stale_seconds: float) -> dict[str, Any]:
    """One nodes row as a report entry; live figures come from its last heartbeat."""
    info = row["info"] or {}
    depth, running = info.get("queue_depth", {}), info.get("running", {})
    return {
        "id": str(row["id"]), "host": row["hostname"], "pid": row["pid"],
        "roles": list(row["roles"]), "state": _state(row, stale_seconds),
        "started_at": row["started_at"].isoformat(),
        "heartbeat_age": round(float(row["heartbeat_age"]), 1),
        "stopped_at": row["stopped_at"].isoformat() if row["stopped_at"] else None,
        "lanes": {lane: {"queued": depth.get(lane, 0), "running": running.get(lane, 0)}
                  for lane in sorted(depth.keys() | running.keys())},
        "finished": info.get("finished"), "per_minute": info.get("per_minute"),
        "draining": bool(info.get("draining", False)), "stalled": info.get("stalled", []),
        "progress_age": info.get("progress_age", {}),
    }


def _scheduler_tick_age(processes: Iterable[Mapping[str, Any]]) -> float | None:
    """Seconds since any live scheduler last started a tick, or None if none reports one."""
    ages = [p["progress_age"]["scheduler"] + p["heartbeat_age"] for p in processes
            if p["state"] == "alive" and "scheduler" in p["progress_age"]]
    return round(min(ages), 1) if ages else None


def _jobs(counts: Iterable[Mapping[str, Any]], oldest: float | None) -> dict[str, Any]:
    by_status = dict.fromkeys(ALL_STATUSES, 0)
    by_type: dict[str, dict[str, int]] = {}
    for row in counts:
        by_status[row["status"]] = by_status.get(row["status"], 0) + row["n"]
        by_type.setdefault(row["job_type"], {})[row["status"]] = row["n"]
    return {"total": sum(by_status.values()), "by_status": by_status,
            "by_type": dict(sorted(by_type.items())),
            "oldest_ready_age": None if oldest is None else round(oldest, 1)}


def build_report(
    nodes: Sequence[Mapping[str, Any]], counts: Iterable[Mapping[str, Any]],
    oldest_ready_age: float | None, *, stale_seconds: float, show_all: bool = False,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Everything `supervisor status` shows, as JSON-friendly values."""
    every = [_process(row, stale_seconds) for row in nodes]
    shown = [p for p in every if show_all or (p["state"] != "stopped"
                                              and p["heartbeat_age"] <= RECENT)]
    tick_age = _scheduler_tick_age(every)
    now = now or datetime.now(UTC)
    schedulers = sum(p["state"] == "alive" and "scheduler" in p["roles"] for p in every)
    return {
        **{state: sum(p["state"] == state for p in every)
           for state in ("alive", "stale", "stopped")},
        "node_stale_seconds": stale_seconds,
        "live_schedulers": schedulers,
        "processes": shown,
        "last_scheduler_tick_age": tick_age,
        "last_scheduler_tick_at": None if tick_age is None
        else (now - timedelta(seconds=tick_age)).isoformat(),
        "jobs": _jobs(counts, oldest_ready_age),
    }
