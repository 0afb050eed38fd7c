"""The ``wanxiang_emulator`` fixture used exactly as a user would: no import, just the fixture name.

The plugin is found through the installed package's ``pytest11`` entry point; these tests would error with
"fixture 'wanxiang_emulator' not found" if the registration broke.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from airflow_provider_wanxiang.client import ClientConfig, TaskStatus, WanxiangClient, build_edit_request
from airflow_provider_wanxiang.hooks.wanxiang import WanxiangHook
from tests.images import png_data_uri

if TYPE_CHECKING:
    from airflow_provider_wanxiang.testing.emulator import WanxiangEmulator

EDIT = build_edit_request(prompt="p", images=[png_data_uri(400, 400)])


def test_hook_reaches_the_emulator_through_the_default_connection(
    wanxiang_emulator: WanxiangEmulator,
) -> None:
    assert wanxiang_emulator.url in os.environ["AIRFLOW_CONN_WANXIANG_DEFAULT"]
    assert os.environ["AIRFLOW_CONN_WANXIANG_DEFAULT"] == wanxiang_emulator.connection_json()
    ok, message = WanxiangHook().test_connection()
    assert ok, message


def test_knob_changes_do_not_leak_into_the_next_test_part_1(wanxiang_emulator: WanxiangEmulator) -> None:
    wanxiang_emulator.configure(task_seconds=60)
    client = WanxiangHook().get_conn()
    task_id = client.create_task(build_edit_request(prompt="p", images=[png_data_uri(400, 400)])).task_id
    assert client.get_task(task_id).status in (TaskStatus.PENDING, TaskStatus.RUNNING)
    assert wanxiang_emulator.stats()["tasks_created"] == 1


def test_knob_changes_do_not_leak_into_the_next_test_part_2(wanxiang_emulator: WanxiangEmulator) -> None:
    # Fresh state (no tasks from part 1) and this project's ini default (task_seconds = 0) again.
    assert wanxiang_emulator.stats()["tasks_created"] == 0
    client = WanxiangHook().get_conn()
    task_id = client.create_task(build_edit_request(prompt="p", images=[png_data_uri(400, 400)])).task_id
    assert client.get_task(task_id).status is TaskStatus.SUCCEEDED


def _client(emulator: WanxiangEmulator, api_key: str) -> WanxiangClient:
    return WanxiangClient(ClientConfig(api_key=api_key, base_url=emulator.base_url))


def test_teammate_key_shares_the_accounts_tasks_other_key_does_not(
    wanxiang_emulator: WanxiangEmulator,
) -> None:
    task_id = WanxiangHook().get_conn().create_task(EDIT).task_id
    with _client(wanxiang_emulator, wanxiang_emulator.teammate_api_key) as teammate:
        assert teammate.get_task(task_id).status is TaskStatus.SUCCEEDED
    with _client(wanxiang_emulator, wanxiang_emulator.other_api_key) as other:
        assert other.get_task(task_id).status is TaskStatus.UNKNOWN
    assert (
        len({wanxiang_emulator.api_key, wanxiang_emulator.teammate_api_key, wanxiang_emulator.other_api_key})
        == 3
    )


def test_restore_starts_afresh_within_a_test(wanxiang_emulator: WanxiangEmulator) -> None:
    wanxiang_emulator.configure(task_seconds=60, public_url="http://127.0.0.1:9")
    WanxiangHook().get_conn().create_task(EDIT)
    wanxiang_emulator.restore(seed=5)
    assert wanxiang_emulator.stats()["tasks_created"] == 0
    knobs = wanxiang_emulator.configure()
    assert knobs["task_seconds"] == wanxiang_emulator.initial_knobs["task_seconds"] == 0  # this project's ini
    assert knobs["seed"] == 5
    assert knobs["public_url"] is None  # a result proxy set by one test does not outlive it


def test_wanxiang_connection_sets_another_connection_part_1(
    wanxiang_emulator: WanxiangEmulator, wanxiang_connection: Callable[..., str]
) -> None:
    value = wanxiang_connection(
        "wx_teammate",
        host=wanxiang_emulator.url,
        api_key=wanxiang_emulator.teammate_api_key,
        region="cn-beijing",
    )
    assert os.environ["AIRFLOW_CONN_WX_TEAMMATE"] == value
    assert json.loads(value) == {
        "conn_type": "wanxiang",
        "password": wanxiang_emulator.teammate_api_key,
        "host": wanxiang_emulator.url,
        "extra": {"region": "cn-beijing"},
    }
    ok, message = WanxiangHook(wanxiang_conn_id="wx_teammate").test_connection()
    assert ok, message


def test_wanxiang_connection_sets_another_connection_part_2(wanxiang_connection: Callable[..., str]) -> None:
    # The variable set in part 1 is gone: connections do not leak between tests.
    assert "AIRFLOW_CONN_WX_TEAMMATE" not in os.environ
