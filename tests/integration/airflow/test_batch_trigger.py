"""``WanxiangBatchTrigger`` driven directly (as the triggerer would) against the emulator over real HTTP."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from airflow_provider_wanxiang.client import ClientConfig, WanxiangClient, build_edit_request
from airflow_provider_wanxiang.compat import deserialize, serialize
from airflow_provider_wanxiang.testing.emulator import API_KEY, WanxiangEmulator
from airflow_provider_wanxiang.triggers.batch import WanxiangBatchTrigger
from tests.images import png_data_uri


def _submit(server: WanxiangEmulator, prompt: str) -> str:
    with WanxiangClient(ClientConfig(api_key=server.api_key, base_url=server.base_url)) as client:
        return client.create_task(build_edit_request(prompt=prompt, images=[png_data_uri(512, 512)])).task_id


def _events(trigger: WanxiangBatchTrigger) -> list[dict[str, Any]]:
    async def drain() -> list[dict[str, Any]]:
        return [event.payload async for event in trigger.run()]

    return asyncio.run(drain())


def test_fires_as_soon_as_any_in_flight_task_ends(wanxiang_emulator: WanxiangEmulator) -> None:
    wanxiang_emulator.configure(task_seconds_spread=0.0)
    slow = [_submit(wanxiang_emulator, f"Make it red [seconds:30] #{i}") for i in range(2)]
    quick = _submit(wanxiang_emulator, "Make it red [seconds:0.5]")
    trigger = WanxiangBatchTrigger(
        wanxiang_task_ids=[*slow, quick], end_time=time.time() + 60, poll_interval=0.2, deferred_in_try=2
    )

    (event,) = _events(trigger)

    assert event == {"status": "finished", "finished": [quick], "message": "", "deferred_in_try": 2}
    assert "http" not in json.dumps(event) and API_KEY not in json.dumps(event)


def test_kwargs_are_ids_and_numbers_only_and_round_trip() -> None:
    trigger = WanxiangBatchTrigger(wanxiang_task_ids=["t-1", "t-2"], end_time=1_900_000_000.0)

    classpath, kwargs = trigger.serialize()

    assert classpath == "airflow_provider_wanxiang.triggers.batch.WanxiangBatchTrigger"
    assert kwargs == {
        "wanxiang_task_ids": ["t-1", "t-2"],
        "wanxiang_conn_id": "wanxiang_default",
        "end_time": 1_900_000_000.0,
        "poll_interval": 1.5,
        "error_budget": 8,
        "request_timeout": 30.0,
        "deferred_in_try": None,
    }
    assert deserialize(serialize(kwargs)) == kwargs
    assert WanxiangBatchTrigger(**kwargs).serialize() == (classpath, kwargs)


def test_deadline_passed_gives_a_timeout_event(wanxiang_emulator: WanxiangEmulator) -> None:
    task_id = _submit(wanxiang_emulator, "Make it red [seconds:30]")
    trigger = WanxiangBatchTrigger(wanxiang_task_ids=[task_id], end_time=time.time() + 0.5, poll_interval=0.2)

    (event,) = _events(trigger)

    assert event["status"] == "timeout"


def test_on_kill_cancels_the_pending_tasks_in_flight_and_leaves_the_running_one(
    wanxiang_emulator: WanxiangEmulator,
) -> None:
    """What Airflow >= 3.3 awaits when a user kills the deferred batch: the queued tasks are canceled (not
    billed), the started one cannot be and keeps running; the event-less trigger raises nothing."""
    wanxiang_emulator.configure(max_concurrent=1, over_concurrency="queue", pending_fraction=0)
    running = _submit(wanxiang_emulator, "occupies the only slot [seconds:30]")
    queued = [_submit(wanxiang_emulator, f"queued behind it #{i}") for i in range(2)]
    trigger = WanxiangBatchTrigger(wanxiang_task_ids=[running, *queued], end_time=time.time() + 60)

    asyncio.run(trigger.on_kill())

    with WanxiangClient(ClientConfig(api_key=API_KEY, base_url=wanxiang_emulator.base_url)) as client:
        statuses = {task_id: client.get_task(task_id).status.value for task_id in [running, *queued]}
    assert statuses == {running: "RUNNING", queued[0]: "CANCELED", queued[1]: "CANCELED"}
    stats = wanxiang_emulator.stats()
    assert stats["cancels"] == 3  # it asked for each; the server refused the started one
    assert stats["final_status"]["CANCELED"] == 2
