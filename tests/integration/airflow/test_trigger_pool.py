"""Many ``WanxiangTaskTrigger`` waits in one event loop, against the emulator over real HTTP on loopback.

What the server saw is counted, never how fast things went: the sockets the triggers opened (the
emulator's ``connections_opened``) and the status queries they sent (``task_queries``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_wanxiang.client import AsyncWanxiangClient, ClientConfig, build_edit_request
from airflow_provider_wanxiang.client.shared import POOL_CONNECTIONS, open_pools
from airflow_provider_wanxiang.emulator import EmulatorConfig, EmulatorServer
from airflow_provider_wanxiang.triggers.wanxiang import WanxiangTaskTrigger
from tests.images import png_data_uri
from tests.integration.airflow.conftest import SECRET

CONN_ID = "wanxiang_default"


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    """Tasks that run 2 s; no submit or concurrency limit (a thousand tasks are in flight at once)."""
    config = EmulatorConfig(
        port=0,
        api_keys=[SECRET],
        task_seconds=2.0,
        task_seconds_spread=0.0,
        submit_rps=0.0,
        max_concurrent=5000,
        query_qps=0.0,
    )
    with EmulatorServer(config) as server:
        yield server


def _connect(monkeypatch: pytest.MonkeyPatch, emulator: EmulatorServer, **extra: Any) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_WANXIANG_DEFAULT",
        json.dumps({"conn_type": "wanxiang", "password": SECRET, "host": emulator.url, "extra": extra}),
    )


async def _submit(emulator: EmulatorServer, count: int) -> list[str]:
    request = build_edit_request(prompt="pool", images=[png_data_uri(512, 512)], n=1, seed=1)
    async with AsyncWanxiangClient(ClientConfig(api_key=SECRET, base_url=emulator.base_url)) as client:
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


@pytest.mark.timeout(300)
async def test_a_thousand_triggers_share_a_bounded_number_of_sockets(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _connect(monkeypatch, emulator)
    task_ids = await _submit(emulator, 1000)
    before = emulator.stats()

    events = await _run_all(task_ids, poll_interval=5.0)

    assert [event["status"] for event in events] == ["success"] * 1000
    stats = emulator.stats()
    assert stats["task_queries"] - before["task_queries"] >= 1000
    # Each trigger alone would have opened (at least) one socket of its own: 1,000 of them.
    assert stats["connections_opened"] - before["connections_opened"] <= POOL_CONNECTIONS
    assert open_pools() == {}, "the last waiter closed the pool"
    assert stats["rejected"] == {}
