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
