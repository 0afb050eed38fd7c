"""Many ``WanxiangTaskTrigger`` waits answered by list rounds: the emulator, real HTTP on loopback.

Counted at the server, never timed: the GETs (``task_queries``) and list pages (``lists``) the waits sent,
the 429s (``rejected``) and the sockets (``connections_opened``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from airflow_provider_wanxiang.client import AsyncWanxiangClient, ClientConfig, build_edit_request
from airflow_provider_wanxiang.client.shared import BATCH_MIN_WAITS, POOL_CONNECTIONS, open_pools
from airflow_provider_wanxiang.testing.emulator import WanxiangEmulator
from airflow_provider_wanxiang.triggers.wanxiang import WanxiangTaskTrigger
from tests.images import png_data_uri

CONN_ID = "wanxiang_default"
#: As in test_trigger_pool: the emulator's 429 limit well above the budgets below (a loaded loop can hand
#: a bunch of paced requests to the server within one 1 s window); the budget is proven by the count.
QUERY_QPS = 100.0


@pytest.fixture
def emulator(wanxiang_emulator: WanxiangEmulator) -> WanxiangEmulator:
    wanxiang_emulator.restore(
        task_seconds_spread=0.0, submit_rps=0.0, max_concurrent=5000, query_qps=QUERY_QPS
    )
    return wanxiang_emulator


async def _submit(emulator: WanxiangEmulator, count: int, prompt: str = "batch") -> list[str]:
    request = build_edit_request(prompt=prompt, images=[png_data_uri(512, 512)], n=1, seed=1)
    async with AsyncWanxiangClient(
        ClientConfig(api_key=emulator.api_key, base_url=emulator.base_url)
    ) as client:
        created = await asyncio.gather(*(client.create_task(request) for _ in range(count)))
    return [task.task_id for task in created]


async def _event(task_id: str, deadline: float = 300.0, **kwargs: Any) -> dict[str, Any]:
    trigger = WanxiangTaskTrigger(
        wanxiang_task_id=task_id, wanxiang_conn_id=CONN_ID, end_time=time.time() + deadline, **kwargs
    )
    events = [event.payload async for event in trigger.run()]
    assert len(events) == 1, events
    return events[0]


def _sent(emulator: WanxiangEmulator, before: dict[str, Any]) -> tuple[int, int]:
    """(GETs, list pages) the emulator answered since ``before``."""
    stats = emulator.stats()
    return stats["task_queries"] - before["task_queries"], stats["lists"] - before["lists"]


@pytest.mark.timeout(600)
async def test_a_thousand_waits_cost_at_most_two_queries_per_finished_edit_within_the_budget(
    emulator: WanxiangEmulator, wanxiang_connection: Callable[..., str]
) -> None:
    budget = 40.0
    emulator.configure(task_seconds=6.0, task_seconds_spread=0.5)
    wanxiang_connection(host=emulator.url, api_key=emulator.api_key, query_budget=budget)
    task_ids = await _submit(emulator, 1000)
    before = emulator.stats()

    started = time.monotonic()
    events = await asyncio.gather(*(_event(task_id) for task_id in task_ids))
    elapsed = time.monotonic() - started

    assert [event["status"] for event in events] == ["success"] * 1000
    gets, lists = _sent(emulator, before)
    assert lists > 0, "the waits were answered by list rounds"
    # Each wait GETs its finished task once (and a task that slid between two pages while the list moved
    # is fetched too); 1,000 waits polling by GET would have sent several GETs each.
    print(f"{gets} GETs + {lists} list pages for 1,000 finished edits in {elapsed:.1f} s")
    assert gets + lists <= 2 * 1000, f"{gets} GETs + {lists} list pages for 1,000 finished edits"
    # The budget over the whole run, list pages and GETs together, plus the bucket's burst of one.
    assert gets + lists <= budget * elapsed + 1
    stats = emulator.stats()
    assert stats["rejected"] == {}
    assert stats["connections_opened"] - before["connections_opened"] <= POOL_CONNECTIONS
    assert open_pools() == {}


@pytest.mark.timeout(300)
async def test_a_task_that_finishes_among_long_ones_is_fired_while_the_others_keep_waiting(
    emulator: WanxiangEmulator, wanxiang_connection: Callable[..., str]
) -> None:
    emulator.configure(task_seconds=600.0)
    wanxiang_connection(host=emulator.url, api_key=emulator.api_key)
    long_ids = await _submit(emulator, 99)
    (quick_id,) = await _submit(emulator, 1, prompt="quick [seconds:2]")
    before = emulator.stats()

    waits = {task_id: asyncio.ensure_future(_event(task_id)) for task_id in [*long_ids, quick_id]}
    done, _ = await asyncio.wait(waits.values(), return_when=asyncio.FIRST_COMPLETED)
    gets, lists = _sent(emulator, before)
    (pools,) = open_pools().values()
    rounds = pools.lister.rounds
    for wait in waits.values():
        wait.cancel()
    await asyncio.gather(*waits.values(), return_exceptions=True)

    assert done == {waits[quick_id]}
    assert waits[quick_id].result()["status"] == "success"
    assert lists >= 2, "the long tasks were seen on list pages"
    # Only the quick task was fetched, apart from the first queries some waits sent before enough of them
    # had joined the pool to batch; 100 waits polling by GET would have sent one each per poll.
    assert gets <= BATCH_MIN_WAITS + 1, f"{gets} GETs"
    # Promptly, in rounds: it ends 2 s in, rounds are at least 1 s apart, and it is fetched on the round
    # after the first one that no longer lists it: about 5 (a slower machine runs fewer, not more).
    assert rounds <= 8, f"{rounds} rounds before the quick task was fired"
    assert open_pools() == {}


@pytest.mark.timeout(300)
@pytest.mark.parametrize(
    "fault",
    [{"status": 500}, {"status": 429, "retry_after": 1}],
    ids=["5xx", "throttled"],
)
async def test_a_failed_list_hands_every_wait_back_to_its_own_get(
    emulator: WanxiangEmulator, wanxiang_connection: Callable[..., str], fault: dict[str, Any]
) -> None:
    # (A dropped connection is not among the faults: aiohttp resends an idempotent GET once when a reused
    # keep-alive socket closes, so the list then simply succeeds.)
    emulator.configure(task_seconds=3.0)
    emulator.inject_faults("list", [fault])
    wanxiang_connection(host=emulator.url, api_key=emulator.api_key)
    task_ids = await _submit(emulator, 20)
    before = emulator.stats()

    events = await asyncio.gather(*(_event(task_id) for task_id in task_ids))

    assert [event["status"] for event in events] == ["success"] * 20
    gets, lists = _sent(emulator, before)
    failed = emulator.stats()["faults_by_route"].get("list", 0)
    # One failed list, then the pool's cool-down: every wait polled with its own GETs to the end.
    assert (failed, lists) == (1, 0)
    assert gets >= 20
    assert open_pools() == {}


@pytest.fixture
async def garbling_proxy(emulator: WanxiangEmulator) -> AsyncIterator[tuple[str, dict[str, int]]]:
    """A server in front of the emulator that forwards every request but answers the list with a page whose
    ``data`` is not a list (a 200 the client must not trust)."""
    seen = {"lists": 0}
    upstream = aiohttp.ClientSession()

    async def forward(request: web.Request) -> web.StreamResponse:
        if request.method == "GET" and request.path.rstrip("/") == "/api/v1/tasks":
            seen["lists"] += 1
            return web.json_response({"total": 3, "data": "not a list", "request_id": "r"})
        async with upstream.request(
            request.method,
            emulator.url + request.path_qs,
            headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
            data=await request.read(),
        ) as answer:
            return web.Response(
                status=answer.status, body=await answer.read(), content_type=answer.content_type
            )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()
        await upstream.close()


@pytest.mark.timeout(300)
async def test_a_malformed_list_page_hands_every_wait_back_to_its_own_get(
    emulator: WanxiangEmulator,
    wanxiang_connection: Callable[..., str],
    garbling_proxy: tuple[str, dict[str, int]],
) -> None:
    url, seen = garbling_proxy
    emulator.configure(task_seconds=3.0)
    wanxiang_connection(host=url, api_key=emulator.api_key)
    task_ids = await _submit(emulator, 20)
    before = emulator.stats()

    events = await asyncio.gather(*(_event(task_id) for task_id in task_ids))

    assert [event["status"] for event in events] == ["success"] * 20
    gets, _ = _sent(emulator, before)
    assert seen["lists"] == 1, "one malformed page, then the cool-down"
    assert gets >= 20
    assert open_pools() == {}
