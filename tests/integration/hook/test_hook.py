"""``WanxiangHook`` against the emulator over real HTTP, with the connection set the way users set it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import pytest

from airflow_provider_wanxiang.client import TaskStatus, build_edit_request
from airflow_provider_wanxiang.hooks.wanxiang import WanxiangHook
from airflow_provider_wanxiang.testing.emulator import API_KEY, WanxiangEmulator
from tests.images import png_data_uri


@pytest.fixture
def emulator(wanxiang_emulator: WanxiangEmulator) -> WanxiangEmulator:
    """The shipped session emulator, fresh, edits done at once; each test sets the connection it needs."""
    wanxiang_emulator.configure(task_seconds=0)
    return wanxiang_emulator


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_edit_end_to_end_through_the_hook(
    emulator: WanxiangEmulator, wanxiang_connection: Callable[..., str]
) -> None:
    wanxiang_connection("wanxiang_default", host=emulator.url, api_key=emulator.api_key)
    client = WanxiangHook().get_conn()
    created = client.create_task(build_edit_request(prompt="make it blue", images=[png_data_uri(512, 512)]))
    task = client.get_task(created.task_id)
    assert task.status is TaskStatus.SUCCEEDED
    assert len(task.succeeded_images) == 1


def test_test_connection_succeeds_with_a_valid_key(
    emulator: WanxiangEmulator, wanxiang_connection: Callable[..., str]
) -> None:
    wanxiang_connection("wx_ok", host=emulator.url, api_key=emulator.api_key, region="cn-beijing")
    ok, message = WanxiangHook(wanxiang_conn_id="wx_ok").test_connection()
    assert ok, message
    assert emulator.base_url in message


def test_test_connection_explains_a_rejected_key_without_echoing_it(
    emulator: WanxiangEmulator, wanxiang_connection: Callable[..., str]
) -> None:
    wrong = "sk-wrong-key-from-the-other-region"
    wanxiang_connection("wx_bad", api_key=wrong, host=emulator.url)
    ok, message = WanxiangHook(wanxiang_conn_id="wx_bad").test_connection()
    assert not ok
    assert "InvalidApiKey" in message
    assert "region" in message
    assert wrong not in message
    assert API_KEY not in message


def test_test_connection_explains_an_unreachable_host(wanxiang_connection: Callable[..., str]) -> None:
    wanxiang_connection("wx_down", api_key=API_KEY, host=f"http://127.0.0.1:{_closed_port()}")
    hook = WanxiangHook(wanxiang_conn_id="wx_down", timeout=2.0)
    ok, message = hook.test_connection()
    assert not ok
    assert message.startswith("Could not reach http://127.0.0.1:")
    assert API_KEY not in message


def test_test_connection_reports_a_missing_key(wanxiang_connection: Callable[..., str]) -> None:
    wanxiang_connection("wx_nokey", host="http://127.0.0.1:1")
    ok, message = WanxiangHook(wanxiang_conn_id="wx_nokey").test_connection()
    assert not ok
    assert "API key" in message


def test_async_client_resolves_the_connection_without_blocking(
    emulator: WanxiangEmulator, wanxiang_connection: Callable[..., str]
) -> None:
    wanxiang_connection("wx_async", host=emulator.url, api_key=emulator.api_key)

    async def run() -> TaskStatus:
        hook = WanxiangHook(wanxiang_conn_id="wx_async")
        sync_client = WanxiangHook(wanxiang_conn_id="wx_async").get_conn()
        created = sync_client.create_task(build_edit_request(prompt="p", images=[png_data_uri(400, 600)]))
        async with await hook.aget_conn() as client:
            task = await client.get_task(created.task_id)
        return task.status

    # asyncio debug mode flags any call that blocks the loop for too long.
    assert asyncio.run(run(), debug=True) is TaskStatus.SUCCEEDED
