"""Operator ``on_kill`` cancels a still-PENDING remote task (Airflow calls it when the worker is killed)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_provider_wanxiang.client import ClientConfig, TaskStatus, WanxiangClient, build_edit_request
from airflow_provider_wanxiang.emulator import EmulatorConfig, EmulatorServer
from airflow_provider_wanxiang.operators.wanxiang import WanxiangSubmitOperator
from tests.images import png_data_uri
from tests.integration.airflow.conftest import SECRET


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    # One slot, queue mode: the second edit stays PENDING behind the first, so it can be canceled.
    config = EmulatorConfig(
        port=0,
        api_keys=[SECRET],
        task_seconds=30,
        pending_fraction=0,
        max_concurrent=1,
        over_concurrency="queue",
    )
    with EmulatorServer(config) as server:
        yield server


def _submit(server: EmulatorServer) -> str:
    with WanxiangClient(ClientConfig(api_key=SECRET, base_url=server.base_url)) as client:
        return client.create_task(build_edit_request(prompt="p", images=[png_data_uri(400, 400)])).task_id


def _status(server: EmulatorServer, task_id: str) -> TaskStatus:
    with WanxiangClient(ClientConfig(api_key=SECRET, base_url=server.base_url)) as client:
        return client.get_task(task_id).status


def test_on_kill_cancels_the_pending_task(emulator: EmulatorServer) -> None:
    _submit(emulator)  # takes the only slot
    queued = _submit(emulator)
    operator = WanxiangSubmitOperator(task_id="edit", prompt="p", images=["https://example.invalid/x.png"])
    operator.wanxiang_task_id = queued  # as set by execute() right after submission
    operator.on_kill()
    assert _status(emulator, queued) is TaskStatus.CANCELED


def test_on_kill_leaves_a_running_task_alone(emulator: EmulatorServer) -> None:
    running = _submit(emulator)
    operator = WanxiangSubmitOperator(task_id="edit", prompt="p", images=["https://example.invalid/x.png"])
    operator.wanxiang_task_id = running
    operator.on_kill()  # the server refuses to cancel a started task; on_kill must not raise
    assert _status(emulator, running) is TaskStatus.RUNNING
    assert emulator.stats()["final_status"].get("CANCELED", 0) == 0


def test_on_kill_before_submission_does_nothing(emulator: EmulatorServer) -> None:
    WanxiangSubmitOperator(task_id="edit", prompt="p", images=["https://example.invalid/x.png"]).on_kill()
    assert emulator.stats()["cancels"] == 0
