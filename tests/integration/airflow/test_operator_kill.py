"""Operator ``on_kill`` cancels a still-PENDING remote task (Airflow calls it when the worker is killed)."""

from __future__ import annotations

import pytest

from airflow_provider_wanxiang.client import ClientConfig, TaskStatus, WanxiangClient, build_edit_request
from airflow_provider_wanxiang.operators.wanxiang import WanxiangSubmitOperator
from airflow_provider_wanxiang.testing.emulator import WanxiangEmulator
from tests.images import png_data_uri


@pytest.fixture
def one_slot_emulator(wanxiang_emulator: WanxiangEmulator) -> WanxiangEmulator:
    # One slot, queue mode: the second edit stays PENDING behind the first, so it can be canceled.
    wanxiang_emulator.restore(task_seconds=30, pending_fraction=0, max_concurrent=1, over_concurrency="queue")
    return wanxiang_emulator


def _client(server: WanxiangEmulator) -> WanxiangClient:
    return WanxiangClient(ClientConfig(api_key=server.api_key, base_url=server.base_url))


def _submit(server: WanxiangEmulator) -> str:
    with _client(server) as client:
        return client.create_task(build_edit_request(prompt="p", images=[png_data_uri(400, 400)])).task_id


def _status(server: WanxiangEmulator, task_id: str) -> TaskStatus:
    with _client(server) as client:
        return client.get_task(task_id).status


def test_on_kill_cancels_the_pending_task(one_slot_emulator: WanxiangEmulator) -> None:
    _submit(one_slot_emulator)  # takes the only slot
    queued = _submit(one_slot_emulator)
    operator = WanxiangSubmitOperator(task_id="edit", prompt="p", images=["https://example.invalid/x.png"])
    operator.wanxiang_task_id = queued  # as set by execute() right after submission
    operator.on_kill()
    assert _status(one_slot_emulator, queued) is TaskStatus.CANCELED


def test_on_kill_leaves_a_running_task_alone(one_slot_emulator: WanxiangEmulator) -> None:
    running = _submit(one_slot_emulator)
    operator = WanxiangSubmitOperator(task_id="edit", prompt="p", images=["https://example.invalid/x.png"])
    operator.wanxiang_task_id = running
    operator.on_kill()  # the server refuses to cancel a started task; on_kill must not raise
    assert _status(one_slot_emulator, running) is TaskStatus.RUNNING
    assert one_slot_emulator.stats()["final_status"].get("CANCELED", 0) == 0


def test_on_kill_before_submission_does_nothing(one_slot_emulator: WanxiangEmulator) -> None:
    WanxiangSubmitOperator(task_id="edit", prompt="p", images=["https://example.invalid/x.png"]).on_kill()
    assert one_slot_emulator.stats()["cancels"] == 0
