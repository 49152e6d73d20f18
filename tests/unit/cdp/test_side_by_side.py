"""Pages side by side (page_walk): the first failure stops the others and is raised as is."""

from __future__ import annotations

import asyncio

import pytest

from services.cdp.page_walk import side_by_side


async def test_results_come_back_in_call_order() -> None:
    async def after(delay: float, value: int) -> int:
        await asyncio.sleep(delay)
        return value

    assert await side_by_side([after(0.02, 1), after(0.0, 2), after(0.01, 3)]) == [1, 2, 3]


async def test_a_failure_cancels_the_others_and_keeps_its_own_type() -> None:
    cancelled = asyncio.Event()

    async def slow() -> int:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return 0

    async def failing() -> int:
        await asyncio.sleep(0.01)
        raise ValueError("page refused")

    with pytest.raises(ValueError, match="page refused"):
        await side_by_side([slow(), failing()])
    assert cancelled.is_set()
