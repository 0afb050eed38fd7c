"""The ``wanxiang_emulator`` fixture used exactly as a user would: no import, just the fixture name.

The plugin is found through the installed package's ``pytest11`` entry point; these tests would error with
"fixture 'wanxiang_emulator' not found" if the registration broke.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from airflow_provider_wanxiang.client import TaskStatus, build_edit_request
from airflow_provider_wanxiang.hooks.wanxiang import WanxiangHook
from tests.images import png_data_uri

if TYPE_CHECKING:
    from airflow_provider_wanxiang.emulator import EmulatorServer


def test_hook_reaches_the_emulator_through_the_default_connection(wanxiang_emulator: EmulatorServer) -> None:
    assert wanxiang_emulator.url in os.environ["AIRFLOW_CONN_WANXIANG_DEFAULT"]
    ok, message = WanxiangHook().test_connection()
    assert ok, message


def test_knob_changes_do_not_leak_into_the_next_test_part_1(wanxiang_emulator: EmulatorServer) -> None:
    wanxiang_emulator.configure(task_seconds=60)
    client = WanxiangHook().get_conn()
    task_id = client.create_task(build_edit_request(prompt="p", images=[png_data_uri(400, 400)])).task_id
    assert client.get_task(task_id).status in (TaskStatus.PENDING, TaskStatus.RUNNING)
    assert wanxiang_emulator.stats()["tasks_created"] == 1


def test_knob_changes_do_not_leak_into_the_next_test_part_2(wanxiang_emulator: EmulatorServer) -> None:
    # Fresh state (no tasks from part 1) and this project's ini default (task_seconds = 0) again.
    assert wanxiang_emulator.stats()["tasks_created"] == 0
    client = WanxiangHook().get_conn()
    task_id = client.create_task(build_edit_request(prompt="p", images=[png_data_uri(400, 400)])).task_id
    assert client.get_task(task_id).status is TaskStatus.SUCCEEDED
