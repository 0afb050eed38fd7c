"""One HTTP pool per connection per event loop, shared by every wait (trigger) that polls with it.

Why: a triggerer runs thousands of waits in one event loop. A session per wait means a socket per wait in
the triggerer and in the server, and a TLS handshake per wait; one session with a bounded connector keeps a
few keep-alive sockets whatever the number of waits. The pool is created by the first waiter, closed when
the last one leaves (a wait's ``async with shared_pool(config)``), and lives only in memory, so a restarted
triggerer starts empty.

The pool also holds the connection's query budget (``ClientConfig.query_budget``, queries/s): every status
query first takes a token from its fair :class:`~airflow_provider_wanxiang.client.pacing.TokenBucket`, so
the process never exceeds the budget, and :meth:`SharedPool.fair_interval` tells each wait how far apart its
queries must be for all waits to fit in it (``waits / budget`` seconds), which
:class:`~airflow_provider_wanxiang.polling.PollSchedule` uses to stretch its interval.

Pools are keyed by the resolved :class:`~airflow_provider_wanxiang.client.ClientConfig` (key, base URL,
proxy, workspace, timeouts, ...): after a secret rotation new waits resolve a new config and get a new pool,
while the old one closes when its last waiter leaves. The config's ``repr`` hides the key and the proxy, so
the registry never shows them. Each event loop has its own registry (a session belongs to one loop), held
weakly so a finished loop (pytest runs many) takes its registry with it.

With many waits the pool answers their status queries with the list endpoint
(:class:`~airflow_provider_wanxiang.client.batching.TaskLister`): :meth:`SharedPool.get_task` is the one
call a wait makes per poll, and it decides per query between the list round and a GET of its own (see
:data:`BATCH_MIN_WAITS` for where the switch sits and why).

No Airflow here: the trigger (and a future batch trigger, or a benchmark) is the caller.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref

import aiohttp

from airflow_provider_wanxiang.client.async_client import AsyncWanxiangClient, open_session
from airflow_provider_wanxiang.client.batching import TaskLister
from airflow_provider_wanxiang.client.config import ClientConfig
from airflow_provider_wanxiang.client.models import Task
from airflow_provider_wanxiang.client.pacing import TokenBucket

__all__ = [
    "BATCH_MIN_WAITS",
    "POOL_CONNECTIONS",
    "SUMMARY_SECONDS",
    "SharedPool",
    "open_pools",
    "shared_pool",
]

#: Sockets one pool may hold at once. Status queries are small and answered in milliseconds, so a few
#: keep-alive sockets carry a budget of tens of queries per second.
POOL_CONNECTIONS = 8
#: Waits in a pool from which their status queries go through list rounds instead of a GET each.
#: Below it every wait GETs its own task, as it always did: a list round costs at least two queries (the
#: PENDING and the RUNNING page) plus a GET per finished task, and adds one round trip before a finished
#: task is fetched, so it only pays once the GETs it replaces outnumber that. With the default budget
#: (10/s) and the trigger's default interval (1.5 s), 15 waits are what per-task GETs can poll at full
#: speed; from there on they would have to stretch every wait's interval (``waits / budget``), while a
#: round of list pages answers up to 100 waits per query at a fixed pace. Sixteen is that boundary, and
#: it keeps a handful of waits (the ≤ 10 of the latency goal) on the direct path.
BATCH_MIN_WAITS = 16
#: Seconds between two INFO summaries of a pool (waits, queries, queries/s).
SUMMARY_SECONDS = 60.0

log = logging.getLogger(__name__)

_registries: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[ClientConfig, SharedPool]] = (
    weakref.WeakKeyDictionary()
)


class SharedPool:
    """One connection's session and client in one event loop, with its count of waiters and queries."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self.session: aiohttp.ClientSession = open_session(config, connections=POOL_CONNECTIONS)
        self.client = AsyncWanxiangClient(config, session=self.session)
        self.budget = TokenBucket(config.query_budget)
        self.lister = TaskLister(self.client, self.before_query, config.query_budget)
        self.waiters = 0
        #: Status queries sent through this pool since it opened (GETs and list pages).
        self.queries = 0
        #: Status answers given to waits (:meth:`get_task` calls), whether a list round or a GET answered.
        self.checks = 0
        self._opened = time.monotonic()
        self._summary: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.config.base_url!r}, waiters={self.waiters})"

    async def before_query(self) -> None:
        """Wait for the budget to allow one more status query, and count it."""
        await self.budget.acquire()
        self.queries += 1

    def batching(self) -> bool:
        """Whether status queries go through list rounds now (enough waits, and listing works)."""
        return self.waiters >= BATCH_MIN_WAITS and self.lister.available

    async def get_task(self, task_id: str) -> Task:
        """The task's status for one poll of its wait: from a list round when batching, else a GET.

        A task the round does not show as PENDING or RUNNING (finished, unknown, or a list that failed)
        is fetched with a GET here, within the budget, so the caller sees exactly the answer or the
        error of its own GET, as with few waits.
        """
        self.checks += 1
        if self.batching():
            listed = await self.lister.status_of(task_id)
            if listed is not None:
                return listed
        await self.before_query()
        return await self.client.get_task(task_id)

    def fair_interval(self) -> float:
        """Seconds between two queries of one wait for all waits of this pool to fit in the budget.

        GETs: ``waits / budget``. List rounds: nothing to stretch (0): an ask costs no query of its own, the
        rounds pace themselves, and a wait that asks again at its own interval after an answer is in time
        for the next round (asking only once per round length would often just miss it, and wait a second
        round).
        """
        if self.batching():
            return 0.0
        return self.waiters / self.config.query_budget

    def _start_summary(self) -> None:
        if self._summary is None:
            self._summary = asyncio.get_running_loop().create_task(self._summarize())

    async def _summarize(self) -> None:
        """Log an INFO line per :data:`SUMMARY_SECONDS`: the per-query lines are DEBUG."""
        last_queries, last_time = 0, self._opened
        while True:
            await asyncio.sleep(SUMMARY_SECONDS)
            now = time.monotonic()
            rate = (self.queries - last_queries) / max(now - last_time, 1e-9)
            log.info(
                "Wanxiang pool for %s: %d waits, %d status queries in the last %.0f s "
                "(%.2f queries/s; budget %g/s; %d list rounds so far)",
                self.config.base_url,
                self.waiters,
                self.queries - last_queries,
                now - last_time,
                rate,
                self.config.query_budget,
                self.lister.rounds,
            )
            last_queries, last_time = self.queries, now

    async def aclose(self) -> None:
        if self._summary is not None:
            self._summary.cancel()
        await self.lister.aclose()
        await self.session.close()


def open_pools() -> dict[ClientConfig, SharedPool]:
    """The pools open in the running event loop (a copy; for tests and diagnostics)."""
    return dict(_registries.get(asyncio.get_running_loop(), {}))


class shared_pool:  # lower case: it reads as a function, ``async with shared_pool(config) as pool``
    """Join the pool of ``config`` in the running loop (creating it if needed) for the body of the block.

    Leaving the block releases it; the last waiter to leave closes the session. The close is shielded, so a
    wait canceled again while leaving (Airflow cancels a killed trigger repeatedly) still closes it.

    A small class rather than a ``contextlib.asynccontextmanager``: every wait holds its membership for its
    whole life, and a generator-based context manager would keep a suspended generator frame per wait.
    """

    __slots__ = ("_config", "_pool")

    def __init__(self, config: ClientConfig) -> None:
        self._config = config
        self._pool: SharedPool | None = None

    async def __aenter__(self) -> SharedPool:
        pools = _registries.setdefault(asyncio.get_running_loop(), {})
        pool = pools.get(self._config)
        if pool is None:
            pool = pools[self._config] = SharedPool(self._config)
            pool._start_summary()
        pool.waiters += 1
        self._pool = pool
        return pool

    async def __aexit__(self, *exc: object) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        pool.waiters -= 1
        if pool.waiters == 0:
            loop = asyncio.get_running_loop()
            pools = _registries.get(loop, {})
            if pools.get(self._config) is pool:
                del pools[self._config]
            if not pools:
                _registries.pop(loop, None)
            await asyncio.shield(pool.aclose())
