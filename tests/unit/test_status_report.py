"""`supervisor status`'s report: judging processes, the scheduler tick, counts, the table."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

from supervisor.cli.status_cmd import ago, render, table
from supervisor.cluster.report import build_report

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
INFO = {"queue_depth": {"first_time": 4, "retry": 0}, "running": {"first_time": 2, "retry": 1},
        "finished": 120, "per_minute": 30, "draining": False,
        "progress_age": {"scheduler": 2.0, "first_time": 0.5}, "stalled": []}


def node(pid: int, age: float, *, stopped: bool = False, roles: tuple[str, ...] = ("first_time",),
         info: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": uuid4(), "hostname": "h1", "pid": pid, "roles": list(roles),
            "started_at": NOW, "heartbeat_age": Decimal(str(age)),
            "stopped_at": NOW if stopped else None, "info": info if info is not None else INFO}


COUNTS = [{"job_type": "noop", "status": "completed", "n": 3},
          {"job_type": "noop", "status": "open", "n": 2},
          {"job_type": "sleep", "status": "dead", "n": 1}]


def test_processes_are_judged_against_the_stale_threshold() -> None:
    report = build_report([node(1, 1.0), node(2, 31.0), node(3, 0.0, stopped=True)], COUNTS,
                          4.25, stale_seconds=30.0, now=NOW)
    assert (report["alive"], report["stale"], report["stopped"]) == (1, 1, 1)
    assert [(p["pid"], p["state"]) for p in report["processes"]] == [(1, "alive"), (2, "stale")]
    assert report["processes"][0]["lanes"] == {"first_time": {"queued": 4, "running": 2},
                                               "retry": {"queued": 0, "running": 1}}
    every = build_report([node(3, 0.0, stopped=True), node(4, 90000.0)], [], None,
                         stale_seconds=30.0, show_all=True)
    assert [p["state"] for p in every["processes"]] == ["stopped", "stale"]
    assert build_report([node(4, 90000.0)], [], None, stale_seconds=30.0)["processes"] == []


def test_jobs_by_state_and_type() -> None:
    jobs = build_report([], COUNTS, 4.5, stale_seconds=30.0)["jobs"]
    assert jobs["total"] == 6
    assert jobs["by_status"]["open"] == 2 and jobs["by_status"]["in_queue"] == 0
    assert list(jobs["by_status"])[:3] == ["open", "in_queue", "processing"]
    assert jobs["by_type"] == {"noop": {"completed": 3, "open": 2}, "sleep": {"dead": 1}}
    assert jobs["oldest_ready_age"] == 4.5


def test_the_last_scheduler_tick_comes_from_live_schedulers_only() -> None:
    sched = ("scheduler", "rescue")
    report = build_report([node(1, 1.5, roles=sched), node(2, 40.0, roles=sched)], [], None,
                          stale_seconds=30.0, now=NOW)
    assert report["last_scheduler_tick_age"] == 3.5  # 2.0 s before a heartbeat 1.5 s old
    assert report["last_scheduler_tick_at"] == "2024-05-01T11:59:56.500000+00:00"
    none = build_report([node(1, 1.5, info={})], [], None, stale_seconds=30.0)
    assert none["last_scheduler_tick_age"] is None and none["last_scheduler_tick_at"] is None


def test_render_shows_processes_stalls_tick_and_counts() -> None:
    stalled = {**INFO, "stalled": ["first_time"], "progress_age": {"first_time": 200.0}}
    report = build_report([node(7, 0.4, info=stalled), node(8, 0.0, stopped=True)], COUNTS,
                          None, stale_seconds=30.0, now=NOW)
    text = "\n".join(render(report))
    assert text.startswith("processes: 1 alive, 0 stale, 1 stopped (1 not listed; --all")
    assert "first_time 4/2, retry 0/1" in text
    assert "pid 7 on h1: no progress from first_time (3m20s)" in text
    assert "last scheduler tick: n/a (no live scheduler)" in text
    assert "oldest ready job waiting: n/a" in text
    last = text.splitlines()[-1].split()
    assert last[0] == "all" and last[-1] == "6"


def test_table_aligns_numbers_right() -> None:
    assert table(["NAME", "N"], [["a", 1], ["bbb", 100]]) == [
        "NAME    N", "a       1", "bbb   100"]


def test_ago() -> None:
    assert [ago(None), ago(0.44), ago(75), ago(3700), ago(200000)] == [
        "n/a", "0.4s", "1m15s", "1h01m", "2d07h"]


def test_a_scheduler_that_has_not_ticked_yet_is_starting_not_missing() -> None:
    starting = build_report([node(1, 0.2, roles=("scheduler", "rescue"), info={})], [], None,
                            stale_seconds=30.0, now=NOW)
    text = "\n".join(render(starting))
    assert starting["live_schedulers"] == 1
    assert "last scheduler tick: none yet (a live scheduler is starting)" in text
    assert "no live scheduler" not in text
