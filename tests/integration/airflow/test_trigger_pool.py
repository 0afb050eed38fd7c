"""Many ``WanxiangTaskTrigger`` waits in one event loop, against the emulator over real HTTP on loopback.

What the server saw is counted, never how fast things went: the sockets the triggers opened (the
emulator's ``connections_opened``) and the status queries they sent (``task_queries``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_wanxiang.client import AsyncWanxiangClient, ClientConfig, build_edit_request
from airflow_provider_wanxiang.client.shared import POOL_CONNECTIONS, open_pools
from airflow_provider_wanxiang.testing.emulator import WanxiangEmulator
from airflow_provider_wanxiang.triggers.wanxiang import WanxiangTaskTrigger
from tests.images import png_data_uri

CONN_ID = "wanxiang_default"


#: The emulator's query limit in these tests (429 above it, over a sliding 1 s window). The budget is proven
#: by the count over the whole run (queries <= budget x elapsed + 1); this limit sits 2.5x above the largest
#: budget below because the bucket paces requests as they leave the client, and a loaded event loop (seen in
#: CI on the 3.1 floor, with 50 q/s against a budget of 40) can hand a second or two of paced requests to
#: the server within one window. A 429 here still means far more than the budget went out.
QUERY_QPS = 100.0


@pytest.fixture
def emulator(wanxiang_emulator: WanxiangEmulator) -> WanxiangEmulator:
    """The session emulator with no submit or concurrency limit (a thousand tasks are in flight at once);
    queries limited."""
    wanxiang_emulator.restore(
        task_seconds_spread=0.0, submit_rps=0.0, max_concurrent=5000, query_qps=QUERY_QPS
    )
    return wanxiang_emulator


def _connect(wanxiang_connection: Callable[..., str], emulator: WanxiangEmulator, **extra: Any) -> None:
    wanxiang_connection(host=emulator.url, api_key=emulator.api_key, **extra)


async def _submit(emulator: WanxiangEmulator, count: int) -> list[str]:
    request = build_edit_request(prompt="pool", images=[png_data_uri(512, 512)], n=1, seed=1)
    async with AsyncWanxiangClient(
        ClientConfig(api_key=emulator.api_key, base_url=emulator.base_url)
    ) as client:
        created = await asyncio.gather(*(client.create_task(request) for _ in range(count)))
    return [task.task_id for task in created]


async def _run_all(task_ids: list[str], **kwargs: Any) -> list[dict[str, Any]]:
    async def one(task_id: str) -> dict[str, Any]:
        trigger = WanxiangTaskTrigger(
            wanxiang_task_id=task_id, wanxiang_conn_id=CONN_ID, end_time=time.time() + 300, **kwargs
        )
        events = [event.payload async for event in trigger.run()]
        assert len(events) == 1, events
        return events[0]

    return await asyncio.gather(*(one(task_id) for task_id in task_ids))


@pytest.mark.timeout(600)
async def test_a_thousand_triggers_share_a_few_sockets_and_stay_within_the_budget(
    emulator: WanxiangEmulator, wanxiang_connection: Callable[..., str]
) -> None:
    budget = 40.0
    emulator.configure(task_seconds=2.0, query_qps=QUERY_QPS)
    _connect(wanxiang_connection, emulator, query_budget=budget)
    task_ids = await _submit(emulator, 1000)
    before = emulator.stats()

    started = time.monotonic()
    events = await _run_all(task_ids, poll_interval=0.5)
    elapsed = time.monotonic() - started

    assert [event["status"] for event in events] == ["success"] * 1000
    stats = emulator.stats()
    queries = stats["task_queries"] - before["task_queries"]
    assert queries >= 1000
    # The budget over the whole run, plus the bucket's burst of one: an upper bound, not a speed.
    assert queries <= budget * elapsed + 1
    assert stats["rejected"] == {}, "no query went over the emulator's limit"
    # Each trigger alone would have opened (at least) one socket of its own: 1,000 of them.
    assert stats["connections_opened"] - before["connections_opened"] <= POOL_CONNECTIONS
    assert open_pools() == {}, "the last waiter closed the pool"


@pytest.mark.timeout(300)
async def test_a_few_waits_are_polled_often_with_the_default_interval(
    emulator: WanxiangEmulator, wanxiang_connection: Callable[..., str]
) -> None:
    # 10 waits of 9 s tasks with the default interval (1.5 s) and the default budget (10/s, 1/s per wait
    # here): each wait queries about 6 times (about 0.75 s mean detection latency). The former fixed 15 s
    # would have made 1 query per wait.
    emulator.configure(task_seconds=9.0, query_qps=QUERY_QPS)
    _connect(wanxiang_connection, emulator)
    task_ids = await _submit(emulator, 10)
    before = emulator.stats()

    events = await _run_all(task_ids)

    assert [event["status"] for event in events] == ["success"] * 10
    queries = emulator.stats()["task_queries"] - before["task_queries"]
    assert queries >= 10 * 4, f"{queries} queries for 10 waits of 9 s"


@pytest.mark.timeout(300)
async def test_the_default_budget_keeps_a_hundred_waits_under_the_services_limit(
    emulator: WanxiangEmulator, wanxiang_connection: Callable[..., str]
) -> None:
    # The emulator at the real service's 20 task queries/s; the connection at the default budget (10/s)
    # and the trigger at its default interval, which alone would ask for 100 / 1.5 ≈ 67 queries/s.
    emulator.configure(task_seconds=3.0, query_qps=20.0)
    _connect(wanxiang_connection, emulator)
    task_ids = await _submit(emulator, 100)
    before = emulator.stats()

    started = time.monotonic()
    events = await _run_all(task_ids)
    elapsed = time.monotonic() - started

    assert [event["status"] for event in events] == ["success"] * 100
    stats = emulator.stats()
    assert stats["rejected"] == {}, "not one 429 from the service's limit"
    assert stats["task_queries"] - before["task_queries"] <= 10.0 * elapsed + 1


@pytest.mark.timeout(120)
async def test_waits_queued_behind_a_tiny_budget_end_at_their_deadline_without_querying(
    emulator: WanxiangEmulator, wanxiang_connection: Callable[..., str]
) -> None:
    # One query per 100 s for the whole connection: the first wait takes the one token, the others queue
    # behind it and must still end with the timeout event at their deadline (not 100 s later), sending
    # nothing over the budget; the pool closes when the last of them leaves.
    emulator.configure(task_seconds=60.0, query_qps=QUERY_QPS)
    _connect(wanxiang_connection, emulator, query_budget=0.01)
    task_ids = await _submit(emulator, 3)
    before = emulator.stats()

    async def one(task_id: str) -> dict[str, Any]:
        trigger = WanxiangTaskTrigger(
            wanxiang_task_id=task_id, wanxiang_conn_id=CONN_ID, end_time=time.time() + 2, poll_interval=0.1
        )
        (event,) = [event.payload async for event in trigger.run()]
        return event

    events = await asyncio.gather(*(one(task_id) for task_id in task_ids))

    assert [event["status"] for event in events] == ["timeout"] * 3
    assert emulator.stats()["task_queries"] - before["task_queries"] == 1
    assert open_pools() == {}
