"""Retry waits: fixed, exponential with a cap, jitter that never goes below the interval."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from supervisor.states import Status, after_failure, retry_delay

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("attempt", [40, 64, 65, 1000, 2**31])
def test_exponential_backoff_of_late_attempts_is_capped(attempt: int) -> None:
    status, run_after = after_failure(attempt - 1, 2**31, 30, NOW, "exponential",
                                      max_delay=3600)
    assert status is Status.FAILED
    assert run_after is not None
    assert NOW + timedelta(seconds=3600 * 0.9) <= run_after <= NOW + timedelta(seconds=3600)


def test_early_exponential_waits_double_from_the_interval() -> None:
    rng = random.Random(1)
    waits = [retry_delay(30, n, "exponential", max_delay=10**6, rng=rng).total_seconds()
             for n in (1, 2, 3, 4)]
    assert waits[0] == 30  # the first wait is the interval itself: jitter never goes below it
    for n, wait in enumerate(waits[1:], start=2):
        full = 30 * 2 ** (n - 1)
        assert full * 0.9 <= wait <= full


def test_jitter_spreads_jobs_that_failed_together() -> None:
    rng = random.Random(7)
    waits = {retry_delay(30, 10, "exponential", max_delay=3600, rng=rng) for _ in range(20)}
    assert len(waits) > 10
    assert all(timedelta(seconds=3240) <= w <= timedelta(seconds=3600) for w in waits)


def test_an_interval_above_the_cap_is_kept() -> None:
    wait = retry_delay(7200, 5, "exponential", max_delay=3600)
    assert wait == timedelta(seconds=7200)


def test_fixed_backoff_is_exact_even_for_the_largest_interval() -> None:
    assert retry_delay(2_147_483_647, 40, "fixed") == timedelta(seconds=2_147_483_647)
    status, run_after = after_failure(39, 100, 2_147_483_647, NOW, "fixed")
    assert status is Status.FAILED and run_after is not None


def test_zero_interval_retries_at_once() -> None:
    assert retry_delay(0, 50, "exponential") == timedelta(0)


def test_no_retries_left_is_dead() -> None:
    assert after_failure(3, 3, 30, NOW, "exponential") == (Status.DEAD, None)
