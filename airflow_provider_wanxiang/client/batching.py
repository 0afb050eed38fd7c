"""Answer many status queries of one pool with the list endpoint: a few list pages per round for all waits.

Why: with thousands of waits in a triggerer, a ``GET /tasks/{id}`` per wait per poll either exceeds the
account's query budget or stretches every wait's interval to ``waits / budget`` seconds (100 s for 1,000
waits at 10 queries/s), and most of those GETs only learn "still running". ``GET /tasks?status=...`` answers
up to :data:`LIST_PAGE_SIZE` tasks per query, so one round of list pages tells every wait whether its task
is still PENDING or RUNNING, and only the tasks the list no longer shows are fetched one by one (by their
own wait, with its own deadline, error budget and ``Retry-After`` handling). Queries per finished edit then
stay near one GET plus a share of the list pages, whatever the number of waits.

How a round decides: it lists the account's PENDING and RUNNING tasks (every page). A wait whose task is
on one of them gets that status back at once; any other wait gets ``None`` and sends its own GET. Absence is
the safe direction: a task that finished, failed, was canceled, expired (UNKNOWN), reports an undocumented
status (``SUSPENDED``) or merely slid between two pages while the list moved is fetched, never assumed.
A list answer that fails or is malformed hands every wait of the round back to its own GET (today's
per-task path, with its own error handling), and the pool stops batching for :data:`COOLDOWN_SECONDS`.

The window: the first round lists the default window (the last 24 h); once every asking task has been seen
on a list, ``start_time`` is narrowed to just before the oldest of them (server time, from the rows), so
older tasks of the account that no wait here is asking about do not cost pages.

Nothing here sleeps on the budget itself: the caller's ``before_query`` does (the pool's token bucket), so
list pages and GETs share one budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from airflow_provider_wanxiang.client.async_client import AsyncWanxiangClient
from airflow_provider_wanxiang.client.models import ListTasksQuery, Task, TaskStatus

__all__ = ["COOLDOWN_SECONDS", "LIST_PAGE_SIZE", "MAX_PAGES", "MIN_ROUND_SECONDS", "TaskLister"]

#: Tasks per list page. The reference documents no maximum (its example asks for 10); 100 is what the
#: emulator allows, and one page of 100 rows is ~40 KB, well inside the client's answer cap.
LIST_PAGE_SIZE = 100
#: Shortest time between the starts of two rounds: a wait is answered at most this long after it asks
#: (plus the round itself), which is below the trigger's default interval.
MIN_ROUND_SECONDS = 1.0
#: List pages may use this share of the budget; the rest is left for the GETs of finished tasks, so a
#: round never starves them and a wait that saw its task finish gets its GET out in the same round.
LIST_BUDGET_SHARE = 0.5
#: Pages read per status and round at most (10,000 tasks): a server that always says "next page" cannot
#: hold a round forever; waits past the last page read simply GET.
MAX_PAGES = 100
#: Waits woken per turn of the event loop when a round answers (see ``TaskLister._answer``).
ANSWER_CHUNK = 100
#: After a list answer that failed or could not be read, stop batching for this long (waits GET on their
#: own, as with few waits): a proxy or a key that cannot list must not cost a failed list every round.
COOLDOWN_SECONDS = 60.0
#: How far before the oldest asking task (server time) the narrowed window starts; it also keeps clear of
#: the 24 h window limit (a wider window is a 400).
_WINDOW_MARGIN = timedelta(minutes=5)
_MAX_WINDOW = timedelta(hours=24) - _WINDOW_MARGIN
_LISTED = (TaskStatus.PENDING, TaskStatus.RUNNING)

log = logging.getLogger(__name__)


class TaskLister:
    """Coalesce the status queries of many waits into rounds of list pages.

    :param client: The pool's client (its session; one attempt per request, as the trigger's).
    :param before_query: Awaited before each list page (the pool's budget and query count).
    :param budget: Queries per second of the pool, to space rounds so list pages use at most
        :data:`LIST_BUDGET_SHARE` of it.
    :param clock: Monotonic seconds.
    """

    def __init__(
        self,
        client: AsyncWanxiangClient,
        before_query: Callable[[], Awaitable[None]],
        budget: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._before_query = before_query
        self._budget = budget
        self._clock = clock
        self._asks: dict[str, list[asyncio.Future[Task | None]]] = {}
        self._wake = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._round_started = float("-inf")
        self._round_seconds = MIN_ROUND_SECONDS
        self._disabled_until = float("-inf")
        #: Server creation time of tasks seen on a list (to narrow the window); forgotten when unasked.
        self._created: dict[str, datetime] = {}
        #: Rounds run and list pages sent since the lister started (diagnostics, benchmarks).
        self.rounds = 0
        self.pages = 0

    @property
    def available(self) -> bool:
        """False during the cool-down after a failed list answer (waits then GET on their own)."""
        return self._clock() >= self._disabled_until

    def round_seconds(self) -> float:
        """Seconds between the starts of two rounds now: the last round's pages over half the budget."""
        return self._round_seconds

    async def status_of(self, task_id: str) -> Task | None:
        """The task's status from the next round's list: PENDING or RUNNING, or ``None`` to GET it.

        Canceled while waiting for the round (the wait's deadline), the ask is simply dropped.
        """
        future: asyncio.Future[Task | None] = asyncio.get_running_loop().create_future()
        self._asks.setdefault(task_id, []).append(future)
        self._ensure_runner()
        self._wake.set()
        try:
            return await future
        finally:
            if not future.done():
                future.cancel()
            waiting = self._asks.get(task_id)
            if waiting is not None and future in waiting:
                waiting.remove(future)
                if not waiting:
                    del self._asks[task_id]

    async def aclose(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner

    def _ensure_runner(self) -> None:
        if self._runner is None or self._runner.done():
            self._runner = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            wait = self._round_started + self._round_seconds - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
            asks, self._asks = self._asks, {}
            if not asks:
                continue
            if not self.available:
                # Asked while the last round failed: they GET on their own, as the cool-down says.
                await self._answer(asks, {})
                continue
            self._round_started = self._clock()
            await self._round(asks)

    async def _round(self, asks: dict[str, list[asyncio.Future[Task | None]]]) -> None:
        """List every PENDING and RUNNING page and answer each ask from it (``None``: not listed)."""
        pages_before = self.pages
        listed: dict[str, Task] = {}
        try:
            for status in _LISTED:
                await self._list_all(status, self._window_start(asks), asks, listed)
        except Exception as err:  # any failure must hand the waits back, never strand them
            # A WanxiangError (throttled, 5xx, malformed page) is the expected case; anything else still
            # must not leave the round's waits waiting for an answer that never comes.
            self._disabled_until = self._clock() + COOLDOWN_SECONDS
            log.warning(
                "Listing tasks for %d waits failed (%s); they query one by one for the next %.0f s",
                len(asks),
                err,
                COOLDOWN_SECONDS,
            )
            listed = {}
        self.rounds += 1
        pages = self.pages - pages_before
        self._round_seconds = max(MIN_ROUND_SECONDS, pages / (self._budget * LIST_BUDGET_SHARE))
        await self._answer(asks, listed)

    async def _answer(
        self, asks: dict[str, list[asyncio.Future[Task | None]]], listed: dict[str, Task]
    ) -> None:
        """Wake the round's waits, :data:`ANSWER_CHUNK` per turn of the event loop.

        Waking thousands at once would run all of them (each logs, sleeps again) in one turn of the loop,
        stalling every other trigger of the triggerer for that long; chunks let the loop breathe between.
        """
        for done, (task_id, futures) in enumerate(asks.items(), start=1):
            answer = listed.get(task_id)
            if answer is None:
                self._created.pop(task_id, None)
            for future in futures:
                if not future.done():
                    future.set_result(answer)
            if done % ANSWER_CHUNK == 0:
                await asyncio.sleep(0)

    async def _list_all(
        self,
        status: TaskStatus,
        start: datetime | None,
        asks: dict[str, list[asyncio.Future[Task | None]]],
        listed: dict[str, Task],
    ) -> None:
        """Read every page of ``status``, keeping the rows of the asking tasks only (the account may list
        many more, e.g. tasks other processes wait on)."""
        page_no = 1
        while True:
            await self._before_query()
            self.pages += 1
            page = await self._client.list_tasks(
                ListTasksQuery(start_time=start, status=status, page_no=page_no, page_size=LIST_PAGE_SIZE)
            )
            for row in page.items:
                # Only a documented status equal to the filter counts; anything else is fetched.
                if row.task_id in asks and row.status is status and row.reported_status is None:
                    listed[row.task_id] = Task(task_id=row.task_id, status=status, request_id=page.request_id)
                    if row.created_time is not None:
                        self._created[row.task_id] = row.created_time
            if not page.has_next or not page.items or page_no >= MAX_PAGES:
                return
            page_no += 1

    def _window_start(self, asks: dict[str, list[asyncio.Future[Task | None]]]) -> datetime | None:
        """Just before the oldest asking task, once all of them were seen on a list; else ``None``."""
        known = [self._created.get(task_id) for task_id in asks]
        if not known or any(created is None for created in known):
            return None
        start = min(created for created in known if created is not None) - _WINDOW_MARGIN
        if datetime.now(UTC) - start > _MAX_WINDOW:
            return None
        return start
