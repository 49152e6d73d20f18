"""The liveness rule (a service overdue by its own announced wait is stale) and the finish rate."""

from __future__ import annotations

import asyncio
import logging

import anyio
import pytest

from supervisor.runtime.liveness import FLOOR_SECONDS, SLACK, FinishRate, Liveness, beat
from supervisor.runtime.loops import every


class Clock:
    """A hand-driven monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_service_is_stale_only_past_slack_times_its_wait_and_the_floor() -> None:
    clock = Clock()
    live = Liveness(floor=10.0, clock=clock)
    live.beat("slow", within=20.0)  # bound 60 s
    live.beat("fast", within=1.0)  # bound: the 10 s floor
    clock.now += 10.0
    assert live.stale() == {}
    clock.now += 0.5
    assert live.stale() == {"fast": 10.5}
    clock.now += SLACK * 20.0 - 10.5 + 0.5
    assert set(live.stale()) == {"fast", "slow"}
    live.beat("slow", within=20.0)
    assert set(live.stale()) == {"fast"}
    assert live.ages() == {"fast": pytest.approx(60.5), "slow": 0.0}


def test_the_default_floor_protects_fast_loops() -> None:
    clock = Clock()
    live = Liveness(clock=clock)
    live.beat("heartbeat", within=0.2)
    clock.now += FLOOR_SECONDS - 1
    assert live.stale() == {}


def test_beat_outside_a_watched_service_is_ignored() -> None:
    beat(0.1)  # a loop run by a test or a bench: nothing to record, nothing raised


async def test_watched_counts_beats_of_the_service_and_its_child_tasks() -> None:
    clock = Clock()
    live = Liveness(floor=0.0, clock=clock)
    seen: dict[str, float] = {}

    async def service(stopping: asyncio.Event) -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(child)
        seen.update(live.ages())

    async def child() -> None:
        beat(5.0)

    await live.watched("lane", service)(asyncio.Event())
    assert seen == {"lane": 0.0}
    assert live.ages() == {}, "a service that returned is forgotten"


async def test_a_crashed_service_is_forgotten_until_it_runs_again() -> None:
    live = Liveness(floor=0.0)

    async def crash() -> None:
        beat(0.001)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await live.watched("svc", crash)()
    assert live.stale() == {}


async def test_every_beats_once_per_round() -> None:
    clock = Clock()
    live = Liveness(floor=0.0, clock=clock)
    stopping = asyncio.Event()
    rounds = 0

    async def step() -> None:
        nonlocal rounds
        rounds += 1
        assert live.ages() == {"loop": 0.0}
        clock.now += 100
        if rounds == 3:
            stopping.set()

    with live.watching("loop"):
        await every(0.0, step, stopping, log=logging.getLogger("t"), action="t")
    assert rounds == 3


def test_finish_rate_counts_the_first_minute_then_a_sliding_one() -> None:
    clock = Clock()
    rate = FinishRate(clock=clock)
    clock.now += 10
    assert rate.per_minute(7) == 7
    clock.now += 50
    assert rate.per_minute(30) == 30
    total, got = 30, 0
    for _ in range(12):  # a sample every 5 s, 2 jobs each
        clock.now += 5
        total += 2
        got = rate.per_minute(total)
    assert got == 24
    clock.now += 120  # idle for two minutes: the rate falls to nothing
    assert rate.per_minute(total) == 0
