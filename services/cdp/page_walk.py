"""Walking cdp_profiles in pages of ids, several pages at once, checkpointed in id order.

Segmentation and the SQL mapping replay both run one statement per page of profile ids. Pages
are disjoint id ranges, so `workers` of them run at once, each statement on its own connection
(one PostgreSQL core each). There are no rounds: a worker takes the next page as soon as its own
is done, so a slow page holds up no other worker, and the next page's bounds are looked up while
the other workers' statements run. A checkpoint can only move past a page once every page before
it is done too: `on_done` gets the finished pages in id order, each time that done prefix grows,
and a resumed job starts after the last page it was given.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import asyncpg

from services.cdp.store import q

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """The profiles with after < id <= upto (`profiles` of them), and what the page's
    statement answered."""

    after: str
    upto: str
    profiles: int
    result: T


async def side_by_side(calls: Iterable[Coroutine[Any, Any, T]]) -> list[T]:
    """Await the calls concurrently; the first failure cancels the rest and is raised as is.

    A TaskGroup, not gather (which would leave the others running after the job failed), with
    its exception group unwrapped so the job's error, its retry rules and its message stay
    those of the failing statement.
    """
    try:
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(call) for call in calls]
    except ExceptionGroup as group:
        raise group.exceptions[0] from None
    return [task.result() for task in tasks]


async def walk_pages(
    db: asyncpg.Pool, after: str, size: int, workers: int,
    run: Callable[[str, str], Awaitable[T]],
    on_done: Callable[[list[Page[T]]], Awaitable[None]],
    stopping: Callable[[], bool] = lambda: False,
) -> None:
    """Run `run(after, upto)` on each page of `size` profiles after `after`, `workers` at once.

    Once `stopping()` is true no page is started; the pages under way finish and are reported.
    A failing page cancels the others and its exception is raised as is: the pages finished
    but not yet reported are done again by the next attempt, which the callers' statements
    allow (a page only changes what still differs).
    """
    cursor = after
    handed = 0  # pages handed out so far; a page's number is its place in id order
    reported = 0  # pages given to on_done so far
    finished: dict[int, Page[T]] = {}
    taking, reporting = asyncio.Lock(), asyncio.Lock()
    exhausted = False

    async def take() -> tuple[int, str, str, int] | None:
        nonlocal cursor, handed, exhausted
        async with taking:  # bounds in id order: one lookup at a time
            if exhausted or stopping():
                return None
            bounds = await db.fetchrow(q("cdp_page_end"), cursor, size)
            if bounds is None or bounds["upto"] is None:
                exhausted = True
                return None
            page = (handed, cursor, str(bounds["upto"]), int(bounds["profiles"]))
            cursor, handed = page[2], handed + 1
            return page

    async def report() -> None:
        nonlocal reported
        async with reporting:  # on_done calls in id order, one at a time
            ready = []
            while reported in finished:
                ready.append(finished.pop(reported))
                reported += 1
            if ready:
                await on_done(ready)

    async def worker() -> None:
        while (page := await take()) is not None:
            number, lo, hi, profiles = page
            finished[number] = Page(lo, hi, profiles, await run(lo, hi))
            await report()

    await side_by_side(worker() for _ in range(max(1, workers)))
