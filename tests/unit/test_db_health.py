"""Every loop backing off from a database error retries the moment the database is back."""

from __future__ import annotations

import asyncio
import logging

import anyio

from supervisor.runtime.loops import every
from supervisor.runtime.waiting import DbHealth, use_health, wait_retry


async def test_a_loop_waiting_out_a_long_backoff_wakes_when_the_database_is_back() -> None:
    health = DbHealth()
    use_health(health)
    woke: list[bool] = []

    async def backing_off() -> None:
        woke.append(await wait_retry(30.0))

    with anyio.fail_after(10):  # a bound far below the 30 s backoff, not a measurement
        async with anyio.create_task_group() as tg:
            tg.start_soon(backing_off)
            await asyncio.sleep(0)
            assert health.down.is_set(), "the failing loop reported the outage"
            health.restored()
    assert woke == [True]
    assert not health.down.is_set()


async def test_a_periodic_step_runs_again_at_once_after_the_outage_ends() -> None:
    health = DbHealth()
    use_health(health)
    stopping = asyncio.Event()
    calls = 0

    async def step() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionResetError("server closed the connection")
        stopping.set()

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: every(600.0, step, stopping, log=_log(), action="t"))
            while not health.down.is_set():
                await asyncio.sleep(0.01)
            health.restored()
    assert calls == 2


def test_settled_for_counts_from_the_end_of_the_last_outage() -> None:
    now = [100.0]
    health = DbHealth(clock=lambda: now[0])
    now[0] = 150.0
    assert health.settled_for() == 50.0
    health.lost()
    assert health.settled_for() == 0.0
    now[0] = 160.0
    health.restored()
    now[0] = 163.0
    assert health.settled_for() == 3.0


def _log() -> logging.Logger:
    return logging.getLogger("test")


def test_an_error_the_first_probe_contradicts_does_not_restart_the_settling_clock() -> None:
    now = [100.0]
    health = DbHealth(clock=lambda: now[0])
    now[0] = 150.0
    health.lost()  # a deadlock, say: the database itself never went away
    health.restored(was_away=False)
    assert health.settled_for() == 50.0
