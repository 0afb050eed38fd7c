"""Both clients against the emulator over real HTTP: the task lifecycle, every outcome, list, upload, auth."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from airflow_provider_wanxiang.client import (
    AuthenticationError,
    ContentModerationError,
    Task,
    TaskStatus,
    UnsupportedOperationError,
    build_edit_request,
    is_retryable_by_resubmit,
)
from airflow_provider_wanxiang.emulator import EmulatorServer
from tests.images import png_bytes, png_data_uri
from tests.integration.client.conftest import API_KEY, OTHER_KEY, SleepRecorder, make_config, open_client

pytestmark = pytest.mark.integration

IMAGE = png_data_uri(512, 512)


def edit(prompt: str, **kwargs: Any) -> Any:
    return build_edit_request(prompt=prompt, images=kwargs.pop("images", [IMAGE]), **kwargs)


def wait_terminal(client: Any, task_id: str, timeout: float = 10.0) -> tuple[Task, list[TaskStatus]]:
    seen: list[TaskStatus] = []
    deadline = time.monotonic() + timeout
    while True:
        task = client.get_task(task_id)
        seen.append(task.status)
        if task.status.is_terminal or time.monotonic() > deadline:
            return task, seen
        time.sleep(0.1)


def test_create_then_poll_until_succeeded(any_client: Any, emulator: EmulatorServer) -> None:
    created = any_client.create_task(edit("make the sky purple [seconds:0.8]"))
    assert created.status is TaskStatus.PENDING
    assert created.request_id
    task, seen = wait_terminal(any_client, created.task_id)
    assert seen[0] in (TaskStatus.PENDING, TaskStatus.RUNNING)
    assert task.status is TaskStatus.SUCCEEDED
    assert task.task_id == created.task_id
    (image,) = task.results
    assert image.succeeded and image.url is not None and image.url.startswith(emulator.url)
    assert image.orig_prompt == "make the sky purple [seconds:0.8]"
    assert task.usage is not None and task.usage.image_count == 1
    now = datetime.now(UTC)
    for moment in (task.submit_time, task.scheduled_time, task.end_time):
        assert moment is not None and moment.tzinfo is not None
        assert abs(now - moment) < timedelta(minutes=1)  # Beijing wall clock read as UTC+8, not as UTC
    assert task.submit_time <= task.end_time  # type: ignore[operator]
    stats = emulator.stats()
    assert stats["tasks_created"] == 1
    assert stats["task_queries"] == len(seen)


def test_partial_failure(any_client: Any) -> None:
    task, _ = wait_terminal(any_client, any_client.create_task(edit("two of three [partial:1]", n=3)).task_id)
    assert task.status is TaskStatus.SUCCEEDED
    assert len(task.succeeded_images) == 2
    (failed,) = task.failed_images
    assert failed.code == "DataInspectionFailed" and failed.url is None and failed.message
    assert task.metrics is not None and (task.metrics.total, task.metrics.succeeded, task.metrics.failed) == (
        3,
        2,
        1,
    )
    assert task.usage is not None and task.usage.image_count == 2
    assert not is_retryable_by_resubmit(failed.code)


def test_failed_task(any_client: Any) -> None:
    task, _ = wait_terminal(
        any_client, any_client.create_task(edit("boom [fail:InternalError.Algo]")).task_id
    )
    assert task.status is TaskStatus.FAILED
    assert task.code == "InternalError.Algo" and task.message
    assert task.usage is None and task.succeeded_images == ()
    assert is_retryable_by_resubmit(task.code)


def test_unknown_and_expired_tasks(any_client: Any, emulator: EmulatorServer) -> None:
    assert any_client.get_task(str(uuid.uuid4())).status is TaskStatus.UNKNOWN
    created = any_client.create_task(edit("short-lived"))
    assert any_client.get_task(created.task_id).status is TaskStatus.SUCCEEDED
    emulator.configure(time_offset=86_400 + 60)  # past the 24 h task TTL
    expired = any_client.get_task(created.task_id)
    assert expired.status is TaskStatus.UNKNOWN and expired.status.is_terminal
    assert expired.results == ()


def test_another_accounts_task_is_unknown(
    any_client: Any, emulator: EmulatorServer, sleeps: SleepRecorder
) -> None:
    created = any_client.create_task(edit("mine"))
    with open_client("sync", make_config(emulator.base_url, sleeps, api_key=OTHER_KEY)) as other:
        assert other.get_task(created.task_id).status is TaskStatus.UNKNOWN


def test_cancel_pending_task(any_client: Any, emulator: EmulatorServer) -> None:
    emulator.configure(pending_fraction=1.0)
    created = any_client.create_task(edit("slow [seconds:30]"))
    assert any_client.get_task(created.task_id).status is TaskStatus.PENDING
    assert any_client.cancel_task(created.task_id) is None
    assert any_client.get_task(created.task_id).status is TaskStatus.CANCELED
    assert emulator.stats()["final_status"]["CANCELED"] == 1


def test_cancel_running_task_is_unsupported_and_not_retried(
    any_client: Any, emulator: EmulatorServer, sleeps: SleepRecorder
) -> None:
    emulator.configure(pending_fraction=0.0)
    created = any_client.create_task(edit("already running [seconds:30]"))
    assert any_client.get_task(created.task_id).status is TaskStatus.RUNNING
    with pytest.raises(UnsupportedOperationError) as info:
        any_client.cancel_task(created.task_id)
    err = info.value
    assert err.code == "UnsupportedOperation" and err.http_status == 400 and err.request_id
    assert "PENDING" in err.message
    assert emulator.stats()["cancels"] == 1
    assert sleeps.delays == []


def test_list_tasks(any_client: Any) -> None:
    ok = [any_client.create_task(edit(f"item {i}")).task_id for i in range(3)]
    failed = any_client.create_task(edit("bad [fail:InternalError]")).task_id
    for task_id in [*ok, failed]:
        wait_terminal(any_client, task_id)
    page = any_client.list_tasks(page_size=10)
    assert {item.task_id for item in page.items} == {*ok, failed}
    assert page.total == 4 and page.page_no == 1 and not page.has_next
    assert all(item.model_name == "wan2.5-i2i-preview" and item.created_time for item in page.items)
    only_failed = any_client.list_tasks(status=TaskStatus.FAILED)
    assert [item.task_id for item in only_failed.items] == [failed]
    now = datetime.now(UTC)
    window = any_client.list_tasks(start_time=now - timedelta(hours=1), end_time=now + timedelta(minutes=1))
    assert window.total == 4
    paged = any_client.list_tasks(page_size=3, page_no=2)
    assert (len(paged.items), paged.total_pages) == (1, 2)


def test_wrong_key_is_an_authentication_error_that_names_no_key(
    emulator: EmulatorServer, sleeps: SleepRecorder
) -> None:
    wrong = "sk-wrong-key-do-not-print-0000"
    for kind in ("sync", "async"):
        config = make_config(emulator.base_url, sleeps, api_key=wrong)
        with open_client(kind, config) as client, pytest.raises(AuthenticationError) as info:
            client.get_task("t")
        err = info.value
        assert (err.code, err.http_status) == ("InvalidApiKey", 401)
        assert err.request_id
        for text in (str(err), repr(err)):
            assert wrong not in text and API_KEY not in text
    assert sleeps.delays == []  # never retried


def test_moderation_rejection_at_create(any_client: Any, emulator: EmulatorServer) -> None:
    with pytest.raises(ContentModerationError) as info:
        any_client.create_task(edit("bad [reject:DataInspectionFailed]"))
    assert info.value.code == "DataInspectionFailed" and info.value.http_status == 400
    assert emulator.stats()["tasks_created"] == 0


def test_upload_file_then_create_with_the_oss_url(any_client: Any, emulator: EmulatorServer) -> None:
    policy = any_client.get_upload_policy("wan2.5-i2i-preview")
    assert policy.upload_host.startswith(emulator.url) and policy.expire_in_seconds == 300
    oss_url = any_client.upload_file(png_bytes(640, 480), "cat.png", "wan2.5-i2i-preview")
    assert oss_url.startswith("oss://dashscope-instant/") and oss_url.endswith("/cat.png")
    task, _ = wait_terminal(
        any_client, any_client.create_task(edit("use the upload", images=[oss_url])).task_id
    )
    assert task.status is TaskStatus.SUCCEEDED
    stats = emulator.stats()
    assert (stats["upload_policies"], stats["uploads"], stats["tasks_created"]) == (2, 1, 1)


def test_workspace_header_is_accepted(emulator: EmulatorServer, sleeps: SleepRecorder) -> None:
    with open_client("sync", make_config(emulator.base_url, sleeps, workspace_id="ws-123")) as client:
        assert client.create_task(edit("in a workspace")).task_id


def test_a_netrc_entry_for_the_host_does_not_replace_the_api_key(
    client: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # requests would otherwise read ~/.netrc and overwrite Authorization with Basic credentials.
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password something-else\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    assert client.create_task(edit("still my key")).task_id
