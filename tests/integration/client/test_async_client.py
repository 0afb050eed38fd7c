"""What only the async client must prove: it lives inside a running loop and never blocks it."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest

from airflow_provider_wanxiang.client import AsyncWanxiangClient, ClientConfig, TaskStatus, build_edit_request
from airflow_provider_wanxiang.emulator import EmulatorServer
from tests.images import png_data_uri
from tests.integration.client.conftest import SleepRecorder

pytestmark = pytest.mark.integration


def never_block(seconds: float) -> None:
    raise AssertionError("the async client called the blocking sleep")


async def test_session_is_created_lazily_inside_the_running_loop(config: ClientConfig) -> None:
    client = AsyncWanxiangClient(config)  # constructing it needs no loop and opens nothing
    async with client:
        created = await client.create_task(build_edit_request(prompt="p", images=[png_data_uri(512, 512)]))
        assert (await client.get_task(created.task_id)).status is TaskStatus.SUCCEEDED
    # Closed, but usable again: a later call opens a fresh session in the loop that makes it.
    assert (await client.get_task(created.task_id)).status is TaskStatus.SUCCEEDED
    await client.aclose()


async def test_waiting_for_the_server_does_not_block_the_loop(
    aclient: AsyncWanxiangClient, emulator: EmulatorServer
) -> None:
    emulator.inject_faults("get", [{"delay": 0.5}, {"delay": 0.5}, {"delay": 0.5}])
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.02)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    started = time.monotonic()
    tasks = await asyncio.gather(*(aclient.get_task(f"t{i}") for i in range(3)))
    elapsed = time.monotonic() - started
    ticking.cancel()
    assert [task.status for task in tasks] == [TaskStatus.UNKNOWN] * 3
    assert elapsed < 1.2  # three 0.5 s answers awaited concurrently, not one after another
    assert ticks >= 10  # the loop kept running other coroutines meanwhile


async def test_retries_wait_with_the_async_sleep(
    config: ClientConfig, emulator: EmulatorServer, sleeps: SleepRecorder
) -> None:
    retry = dataclasses.replace(config.retry, sleep=never_block)
    # Two drops: aiohttp itself resends an idempotent GET once after a disconnect; the second is ours.
    emulator.inject_faults("get", [{"status": 503, "retry_after": 1.5}, {"drop": True}, {"drop": True}])
    async with AsyncWanxiangClient(dataclasses.replace(config, retry=retry)) as client:
        assert (await client.get_task("t")).status is TaskStatus.UNKNOWN
    assert sleeps.delays == [1.5, 2.0]


async def test_create_body_with_three_data_uris(
    aclient: AsyncWanxiangClient, emulator: EmulatorServer
) -> None:
    images = [png_data_uri(1024, 1024), png_data_uri(800, 600), png_data_uri(384, 5000)]
    created = await aclient.create_task(build_edit_request(prompt="fuse [partial:1]", images=images, n=2))
    task = await aclient.get_task(created.task_id)
    assert task.status is TaskStatus.SUCCEEDED and len(task.failed_images) == 1
    assert emulator.stats()["tasks_created"] == 1
