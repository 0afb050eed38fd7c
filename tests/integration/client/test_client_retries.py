"""The retry rule, proven by what the emulator saw: reads retry every transient failure; a create is
retried only when it cannot have been enqueued, so a flaky network never buys the same edit twice."""

from __future__ import annotations

import dataclasses
import socket
import time
from typing import Any

import pytest

from airflow_provider_wanxiang.client import (
    RateLimitError,
    ServerError,
    TaskStatus,
    TransportError,
    WanxiangClient,
    build_edit_request,
)
from airflow_provider_wanxiang.emulator import EmulatorServer
from tests.images import png_data_uri
from tests.integration.client.conftest import SleepRecorder, make_config, open_client

pytestmark = pytest.mark.integration

EDIT = build_edit_request(prompt="make it blue", images=[png_data_uri(512, 512)])


def test_get_is_retried_through_503_429_and_a_dropped_connection(
    any_client: Any, emulator: EmulatorServer, sleeps: SleepRecorder
) -> None:
    task_id = any_client.create_task(EDIT).task_id
    emulator.inject_faults(
        "get",
        [{"status": 503, "code": "ServiceUnavailable", "message": "x"}, {"status": 429}, {"drop": True}],
    )
    task = any_client.get_task(task_id)
    assert task.status is TaskStatus.SUCCEEDED
    stats = emulator.stats()
    assert stats["faults_by_route"]["get"] == 3
    assert stats["task_queries"] == 1  # the fourth attempt is the one the handler answered
    # Exponential caps (jitter is pinned to the cap in these tests). After a dropped connection aiohttp
    # itself resends an idempotent GET once (RFC 9112 section 9.3.1.1); requests leaves it to our policy.
    expected = [1.0, 2.0, 4.0] if isinstance(any_client, WanxiangClient) else [1.0, 2.0]
    assert sleeps.delays == expected


def test_list_and_upload_policy_are_retried_too(
    any_client: Any, emulator: EmulatorServer, sleeps: SleepRecorder
) -> None:
    emulator.inject_faults("list", [{"status": 500}, {"drop": True}])
    emulator.inject_faults("upload_policy", [{"status": 502}])
    assert any_client.list_tasks().total == 0
    assert any_client.get_upload_policy("wan2.5-i2i-preview").upload_dir
    assert emulator.stats()["faults_by_route"] == {"list": 2, "upload_policy": 1}
    # As above, aiohttp absorbs the dropped GET by resending it once.
    assert len(sleeps.delays) == (3 if isinstance(any_client, WanxiangClient) else 2)


def test_reads_give_up_after_max_attempts(
    any_client: Any, emulator: EmulatorServer, sleeps: SleepRecorder
) -> None:
    emulator.inject_faults("get", [{"status": 503}] * 6)
    with pytest.raises(ServerError) as info:
        any_client.get_task("some-task")
    assert info.value.http_status == 503 and info.value.code == "ServiceUnavailable"
    assert len(sleeps.delays) == 4  # five attempts in all
    assert emulator.stats()["faults_by_route"]["get"] == 5


def test_create_is_retried_on_429_and_503_and_creates_exactly_one_task(
    any_client: Any, emulator: EmulatorServer, sleeps: SleepRecorder
) -> None:
    emulator.inject_faults("create", [{"status": 429, "code": "Throttling.RateQuota"}, {"status": 503}])
    created = any_client.create_task(EDIT)
    stats = emulator.stats()
    assert stats["tasks_created"] == 1
    assert stats["faults_by_route"]["create"] == 2
    assert len(sleeps.delays) == 2
    assert any_client.get_task(created.task_id).status is TaskStatus.SUCCEEDED


def test_the_emulators_own_submit_limit_is_waited_out(
    emulator: EmulatorServer, sleeps: SleepRecorder
) -> None:
    # Not a scripted fault: the emulator's real per-second submit limit, announcing Retry-After: 1.
    # This one test really sleeps (1 s), to show the retried create then gets through.
    emulator.configure(submit_rps=1.0, retry_after=1.0)

    def sleep_for_real(seconds: float) -> None:
        sleeps(seconds)
        time.sleep(seconds)

    config = make_config(emulator.base_url, sleeps)
    config = dataclasses.replace(config, retry=dataclasses.replace(config.retry, sleep=sleep_for_real))
    with WanxiangClient(config) as client:
        first = client.create_task(EDIT)
        second = client.create_task(EDIT)
    assert first.task_id != second.task_id
    stats = emulator.stats()
    assert stats["tasks_created"] == 2
    assert stats["rejected"] == {"Throttling.RateQuota": 1}
    assert sleeps.delays == [1.0]


@pytest.mark.parametrize("status", [500, 502, 504])
def test_create_is_not_retried_on_5xx_that_may_follow_enqueueing(
    any_client: Any, emulator: EmulatorServer, sleeps: SleepRecorder, status: int
) -> None:
    # The server stored the task, then failed: a retry here would pay twice.
    emulator.inject_faults("create", [{"status": status, "after_enqueue": True}])
    with pytest.raises(ServerError) as info:
        any_client.create_task(EDIT)
    assert info.value.http_status == status
    assert emulator.stats()["tasks_created"] == 1
    assert sleeps.delays == []


def test_create_is_not_retried_on_a_plain_500(
    any_client: Any, emulator: EmulatorServer, sleeps: SleepRecorder
) -> None:
    emulator.inject_faults("create", [{"status": 500, "code": "InternalError"}])
    with pytest.raises(ServerError):
        any_client.create_task(EDIT)
    stats = emulator.stats()
    assert (stats["faults_by_route"]["create"], stats["tasks_created"]) == (1, 0)
    assert sleeps.delays == []


def test_create_is_not_retried_when_the_connection_drops_after_sending(
    any_client: Any, emulator: EmulatorServer, sleeps: SleepRecorder
) -> None:
    emulator.inject_faults("create", [{"drop": True, "after_enqueue": True}])
    with pytest.raises(TransportError) as info:
        any_client.create_task(EDIT)
    assert info.value.request_sent is True
    assert emulator.stats()["tasks_created"] == 1  # enqueued once, never twice
    assert sleeps.delays == []


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_create_is_not_retried_after_a_read_timeout(
    kind: str, emulator: EmulatorServer, sleeps: SleepRecorder
) -> None:
    emulator.inject_faults("create", [{"delay": 0.6}])
    config = make_config(emulator.base_url, sleeps, timeout=(2.0, 0.2))
    with open_client(kind, config) as client, pytest.raises(TransportError) as info:
        client.create_task(EDIT)
    assert info.value.request_sent is True
    assert sleeps.delays == []
    time.sleep(0.6)  # let the server finish with the abandoned request
    assert emulator.stats()["requests"] == 1  # one create reached the server, and only one


def test_get_is_retried_after_a_read_timeout(emulator: EmulatorServer, sleeps: SleepRecorder) -> None:
    for kind in ("sync", "async"):
        emulator.inject_faults("get", [{"delay": 0.5}])
        with open_client(kind, make_config(emulator.base_url, sleeps, timeout=(2.0, 0.2))) as client:
            assert client.get_task("t").status is TaskStatus.UNKNOWN
    assert len(sleeps.delays) == 2


def test_connection_refused_before_sending_is_retried_even_for_create(sleeps: SleepRecorder) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening, then closed: connections are refused
    for kind in ("sync", "async"):
        sleeps.delays.clear()
        with (
            open_client(
                kind, make_config(f"http://127.0.0.1:{port}/api/v1", sleeps, max_attempts=3)
            ) as client,
            pytest.raises(TransportError) as info,
        ):
            client.create_task(EDIT)
        assert info.value.request_sent is False
        assert "could not connect" in str(info.value)
        assert sleeps.delays == [1.0, 2.0]


def test_retry_after_is_honoured(any_client: Any, emulator: EmulatorServer, sleeps: SleepRecorder) -> None:
    emulator.inject_faults("get", [{"status": 503, "retry_after": 2.5}])
    emulator.inject_faults("create", [{"status": 429, "code": "Throttling", "retry_after": 7}])
    any_client.get_task("t")
    any_client.create_task(EDIT)
    assert sleeps.delays == [2.5, 7.0]


def test_retry_after_is_capped(emulator: EmulatorServer, sleeps: SleepRecorder) -> None:
    emulator.inject_faults("get", [{"status": 429, "retry_after": 3600}])
    with open_client("sync", make_config(emulator.base_url, sleeps)) as client:
        client.get_task("t")
    assert sleeps.delays == [60.0]


def test_non_retryable_quota_error_is_raised_at_once(
    any_client: Any, emulator: EmulatorServer, sleeps: SleepRecorder
) -> None:
    emulator.inject_faults(
        "create",
        [{"status": 429, "code": "Throttling.AllocationQuota", "message": "Free allocated quota exceeded."}],
    )
    with pytest.raises(RateLimitError) as info:
        any_client.create_task(EDIT)
    assert info.value.retryable is False
    assert sleeps.delays == []
