"""``WanxiangTaskTrigger`` driven directly (as the triggerer would) against the emulator over real HTTP."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from airflow_provider_wanxiang.client import ClientConfig, TaskStatus, WanxiangClient, build_edit_request
from airflow_provider_wanxiang.exceptions import WanxiangTaskTimeoutError
from airflow_provider_wanxiang.hooks.wanxiang import WanxiangHook
from airflow_provider_wanxiang.outcomes import TaskOutcome
from airflow_provider_wanxiang.testing.emulator import API_KEY, WanxiangEmulator
from airflow_provider_wanxiang.triggers.wanxiang import WanxiangTaskTrigger
from airflow_provider_wanxiang.waiting import finish_wait
from tests.images import png_data_uri
from tests.integration.forward_proxy import ForwardProxy
from tests.integration.hostile_server import HostileServer

CONN_ID = "wanxiang_default"


def _client(server: WanxiangEmulator) -> WanxiangClient:
    return WanxiangClient(ClientConfig(api_key=server.api_key, base_url=server.base_url))


def _submit(server: WanxiangEmulator, prompt: str, n: int = 1) -> str:
    with _client(server) as client:
        request = build_edit_request(prompt=prompt, images=[png_data_uri(512, 512)], n=n, seed=1)
        return client.create_task(request).task_id


def _trigger(task_id: str, **kwargs: Any) -> WanxiangTaskTrigger:
    params: dict[str, Any] = {
        "wanxiang_task_id": task_id,
        "wanxiang_conn_id": CONN_ID,
        "end_time": time.time() + 60,
        "poll_interval": 0.2,
    }
    params.update(kwargs)
    return WanxiangTaskTrigger(**params)


async def _events(trigger: WanxiangTaskTrigger) -> list[dict[str, Any]]:
    """Drain the trigger completely, to check it yields exactly one event and then stops."""
    return [event.payload async for event in trigger.run()]


def _only(events: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(events) == 1, events
    text = json.dumps(events[0])
    assert "http" not in text, "events must not carry (signed) URLs"
    assert API_KEY not in text
    return events[0]


async def test_succeeded_task_yields_one_success_event(wanxiang_emulator: WanxiangEmulator) -> None:
    # 3 s of remote run time against 0.2 s polls: the first query lands before the end even on a loaded
    # machine (0.6 s was seen to finish before the first query under load).
    task_id = _submit(wanxiang_emulator, "make it teal [seconds:3]")
    event = _only(await _events(_trigger(task_id)))
    assert event["status"] == "success"
    assert event["wanxiang_task_id"] == task_id
    assert event["summary"]["images_succeeded"] == 1
    assert event["summary"]["image_count"] == 1
    assert wanxiang_emulator.stats()["task_queries"] >= 2  # it waited through PENDING/RUNNING


async def test_partial_failure_is_a_success_with_the_failed_image_listed(
    wanxiang_emulator: WanxiangEmulator,
) -> None:
    task_id = _submit(wanxiang_emulator, "two variants [partial:1]", n=2)
    event = _only(await _events(_trigger(task_id)))
    assert event["status"] == "success"
    assert event["summary"]["images_failed"] == 1
    assert event["summary"]["failed_images"][0]["code"] == "DataInspectionFailed"


async def test_failed_task_carries_the_server_code(wanxiang_emulator: WanxiangEmulator) -> None:
    task_id = _submit(wanxiang_emulator, "break [fail:InternalError.Algo]")
    event = _only(await _events(_trigger(task_id)))
    assert event["status"] == "failed"
    assert event["code"] == "InternalError.Algo"


async def test_unknown_task_id_ends_the_wait(wanxiang_emulator: WanxiangEmulator) -> None:
    event = _only(await _events(_trigger("00000000-0000-4000-8000-000000000000")))
    assert event["status"] == "unknown"


async def test_transient_errors_are_retried_then_succeed(wanxiang_emulator: WanxiangEmulator) -> None:
    task_id = _submit(wanxiang_emulator, "ok [seconds:0]")
    wanxiang_emulator.inject_faults(
        "get",
        [{"status": 503, "code": "ServiceUnavailable", "message": "busy"}, {"drop": True}, {"status": 500}],
    )
    event = _only(await _events(_trigger(task_id)))
    assert event["status"] == "success"
    assert wanxiang_emulator.stats()["faults_injected"] == 3


async def test_retry_after_is_honoured(wanxiang_emulator: WanxiangEmulator) -> None:
    task_id = _submit(wanxiang_emulator, "ok [seconds:0]")
    wanxiang_emulator.inject_faults(
        "get", [{"status": 429, "code": "Throttling", "message": "slow", "retry_after": 1}]
    )
    started = time.monotonic()
    event = _only(await _events(_trigger(task_id, poll_interval=0.1)))
    assert event["status"] == "success"
    assert time.monotonic() - started >= 0.9  # waited what the server asked, not the 0.1 s interval


async def test_exhausted_error_budget_ends_with_an_error_event(wanxiang_emulator: WanxiangEmulator) -> None:
    task_id = _submit(wanxiang_emulator, "ok [seconds:0]")
    wanxiang_emulator.inject_faults(
        "get", [{"status": 503, "code": "ServiceUnavailable", "message": "x"}] * 4
    )
    event = _only(await _events(_trigger(task_id, error_budget=2, poll_interval=0.1)))
    assert event["status"] == "error"
    assert "after 3 consecutive failed status queries (error_budget=2)" in event["message"]
    assert event["code"] == "ServiceUnavailable"


async def test_non_retryable_error_ends_at_once(
    wanxiang_emulator: WanxiangEmulator, wanxiang_connection: Callable[..., str]
) -> None:
    task_id = _submit(wanxiang_emulator, "ok")
    wanxiang_connection(host=wanxiang_emulator.url, api_key="sk-revoked")
    event = _only(await _events(_trigger(task_id)))
    assert event["status"] == "error"
    assert event["code"] == "InvalidApiKey"
    assert "the API answered [InvalidApiKey]" in event["message"] and "not retrying" in event["message"]
    assert "consecutive" not in event["message"]
    assert "sk-revoked" not in json.dumps(event)


async def test_deadline_in_the_past_times_out_after_one_last_check(
    wanxiang_emulator: WanxiangEmulator,
) -> None:
    task_id = _submit(wanxiang_emulator, "slow [seconds:30]")
    event = _only(await _events(_trigger(task_id, end_time=time.time() + 0.5)))
    assert event["status"] == "timeout"
    assert wanxiang_emulator.stats()["task_queries"] >= 2


async def test_deadline_is_absolute_so_a_recreated_trigger_keeps_it(
    wanxiang_emulator: WanxiangEmulator,
) -> None:
    """A triggerer restart re-creates the trigger from its kwargs: the deadline must not move."""
    task_id = _submit(wanxiang_emulator, "slow [seconds:30]")
    original = _trigger(task_id, end_time=time.time() + 0.4, poll_interval=0.1)
    classpath, kwargs = original.serialize()
    assert classpath == "airflow_provider_wanxiang.triggers.wanxiang.WanxiangTaskTrigger"
    await asyncio.sleep(0.5)
    recreated = WanxiangTaskTrigger(**kwargs)
    event = _only(await _events(recreated))
    assert event["status"] == "timeout"
    # Counted, not timed: past its deadline already, the recreated trigger makes its one last check and
    # stops (a deadline re-based on the restart would have it poll every 0.1 s for another 0.4 s).
    assert wanxiang_emulator.stats()["task_queries"] == 1


async def test_on_kill_cancels_a_pending_task(wanxiang_emulator: WanxiangEmulator) -> None:
    wanxiang_emulator.configure(max_concurrent=1, over_concurrency="queue")  # undone by the next test's reset
    _submit(wanxiang_emulator, "occupies the only slot [seconds:30]")
    queued = _submit(wanxiang_emulator, "queued behind it")
    await _trigger(queued).on_kill()
    event = _only(await _events(_trigger(queued)))
    assert event["status"] == "canceled"
    assert wanxiang_emulator.stats()["cancels"] == 1


async def test_on_kill_of_a_running_task_does_not_raise(wanxiang_emulator: WanxiangEmulator) -> None:
    wanxiang_emulator.configure(pending_fraction=0)  # RUNNING from the start
    task_id = _submit(wanxiang_emulator, "running [seconds:30]")
    await _trigger(task_id).on_kill()  # UnsupportedOperation is expected and swallowed
    with _client(wanxiang_emulator) as client:
        assert client.get_task(task_id).status is TaskStatus.RUNNING
    assert wanxiang_emulator.stats()["cancels"] == 1  # it did ask; the server refused


async def test_event_carries_the_try_that_deferred(wanxiang_emulator: WanxiangEmulator) -> None:
    """Lets a retry recognise a replayed event (Airflow 3.1.0 resumes retries at the old event)."""
    task_id = _submit(wanxiang_emulator, "ok [seconds:0]")
    event = _only(await _events(_trigger(task_id, deferred_in_try=3)))
    assert event["deferred_in_try"] == 3


# -- proxies and deadlines ---------------------------------------------------------------------------------
PROXY_SECRET = "trigger-proxy-s3cret"


@pytest.fixture(scope="module")
def auth_proxy() -> Iterator[ForwardProxy]:
    with ForwardProxy(f"airflow:{PROXY_SECRET}") as server:
        yield server


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    server = HostileServer()
    yield server
    server.close()


@pytest.mark.timeout(60)
async def test_polls_go_through_the_connection_proxy_which_stays_out_of_kwargs_and_events(
    wanxiang_emulator: WanxiangEmulator,
    auth_proxy: ForwardProxy,
    monkeypatch: pytest.MonkeyPatch,
    wanxiang_connection: Callable[..., str],
) -> None:
    """The triggerer re-reads the connection: the proxy (a secret) never travels in the trigger's kwargs."""
    task_id = _submit(wanxiang_emulator, "through the proxy [seconds:0.6]")
    auth_proxy.clear()
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # the connection's proxy wins over this dead one
    wanxiang_connection(
        host=wanxiang_emulator.url, api_key=wanxiang_emulator.api_key, proxy=auth_proxy.url_with_credentials
    )
    trigger = _trigger(task_id)
    event = _only(await _events(trigger))
    assert event["status"] == "success"
    polls = auth_proxy.counts()[("GET", f"/api/v1/tasks/{task_id}")]
    assert polls >= 2 and polls == wanxiang_emulator.stats()["task_queries"]
    assert all(record["proxy_authorization"] for record in auth_proxy.records())
    shown = json.dumps(trigger.serialize()[1]) + repr(trigger) + json.dumps(event)
    assert PROXY_SECRET not in shown and auth_proxy.url not in shown


@pytest.mark.timeout(60)
async def test_polls_honour_http_proxy_from_the_environment(
    wanxiang_emulator: WanxiangEmulator, auth_proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_id = _submit(wanxiang_emulator, "env proxy [seconds:0.3]")
    auth_proxy.clear()
    monkeypatch.setenv("HTTP_PROXY", auth_proxy.url_with_credentials)
    event = _only(await _events(_trigger(task_id)))
    assert event["status"] == "success"
    assert (
        auth_proxy.counts()[("GET", f"/api/v1/tasks/{task_id}")]
        == wanxiang_emulator.stats()["task_queries"]
        >= 1
    )


@pytest.mark.timeout(60)
async def test_a_trickling_server_cannot_hold_the_trigger_past_its_deadline_and_the_pending_task_is_canceled(
    wanxiang_emulator: WanxiangEmulator, hostile: HostileServer, wanxiang_connection: Callable[..., str]
) -> None:
    """Status queries trickle one byte every 0.5 s (the per-read timeout never trips); everything else is
    relayed to the emulator. The wait still ends with its ``timeout`` event, and the worker's handling of
    that event (``finish_wait``) cancels the task, which is still PENDING."""
    wanxiang_emulator.configure(max_concurrent=1, over_concurrency="queue")  # undone by the next test's reset
    _submit(wanxiang_emulator, "occupies the only slot [seconds:30]")
    queued = _submit(wanxiang_emulator, "queued behind it")
    hostile.reset(
        "drip_body", interval=0.5, upstream=wanxiang_emulator.url, only=lambda method, path: method == "GET"
    )
    wanxiang_connection(host=hostile.url, api_key=wanxiang_emulator.api_key)
    event = _only(await _events(_trigger(queued, end_time=time.time() + 2, poll_interval=0.5)))
    assert event["status"] == "timeout"
    assert ("GET", f"/api/v1/tasks/{queued}") in hostile.requests
    assert wanxiang_emulator.stats()["task_queries"] == 0  # no poll ever got through the trickle

    ti = _RecordingTI()
    outcome = TaskOutcome.from_event(event)
    with pytest.raises(WanxiangTaskTimeoutError):
        await asyncio.to_thread(
            finish_wait, {"ti": ti}, outcome, WanxiangHook(CONN_ID), require_all_images=False
        )
    assert wanxiang_emulator.stats()["cancels"] == 1
    with _client(wanxiang_emulator) as client:
        assert client.get_task(queued).status is TaskStatus.CANCELED


@pytest.mark.timeout(60)
async def test_a_trickling_server_with_a_later_deadline_still_ends_the_wait(
    wanxiang_emulator: WanxiangEmulator, hostile: HostileServer, wanxiang_connection: Callable[..., str]
) -> None:
    """Headers trickle this time: the wait ends with its timeout event by the deadline (plus the last
    query's few seconds), not after the client's own 90 s attempt deadline."""
    task_id = _submit(wanxiang_emulator, "slow [seconds:30]")
    hostile.reset("drip_headers", interval=0.5, upstream=wanxiang_emulator.url)
    wanxiang_connection(host=hostile.url, api_key=wanxiang_emulator.api_key)
    event = _only(await _events(_trigger(task_id, end_time=time.time() + 3, poll_interval=0.5)))
    assert event["status"] == "timeout"


class _RecordingTI:
    def __init__(self) -> None:
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value
