"""The TaskFlow helpers on ``WanxiangHook`` in real ``@task`` runs (``dag.test()``) against the emulator:
the result, the copy, the deadline and an interruption (both cancel the PENDING remote task), and
validation before any paid call."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_wanxiang.client import WanxiangValidationError
from airflow_provider_wanxiang.hooks.wanxiang import WanxiangHook
from airflow_provider_wanxiang.testing.emulator import WanxiangEmulator
from tests.airflow_runtime import run_dag, task_states, xcom
from tests.images import png_data_uri

pytestmark = pytest.mark.integration


def _stuck_pending(emulator: WanxiangEmulator) -> None:
    """Every edit stays PENDING for a minute, so it can still be canceled when the wait ends."""
    emulator.restore(task_seconds=60, task_seconds_spread=0, pending_fraction=1.0)


def test_submit_and_wait_then_copy_in_tasks(wanxiang_emulator: WanxiangEmulator, tmp_path: Path) -> None:
    dag_run = run_dag("wx_taskflow_edit", run_conf={"destination": tmp_path.as_uri()})

    assert dag_run.state == "success", task_states(dag_run)
    summary = xcom(dag_run, "edit")
    task_id = summary["wanxiang_task_id"]
    assert (summary["task_status"], summary["images_succeeded"], summary["images_total"]) == (
        "SUCCEEDED",
        2,
        2,
    )
    assert "http" not in json.dumps(summary)  # URL-free: it is a @task's return value, stored in XCom
    uris = xcom(dag_run, "copy")
    assert uris == [f"{tmp_path.as_uri()}/{task_id}/{i}.png" for i in range(2)]
    for uri in uris:
        assert Path(uri.removeprefix("file://")).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    stats = wanxiang_emulator.stats()
    assert stats["tasks_created"] == 1 and stats["cancels"] == 0


def test_deadline_raises_the_typed_timeout_and_cancels(wanxiang_emulator: WanxiangEmulator) -> None:
    _stuck_pending(wanxiang_emulator)

    dag_run = run_dag("wx_taskflow_deadline")

    assert dag_run.state == "success", task_states(dag_run)
    result = xcom(dag_run, "edit_with_deadline")
    assert result["error"] == "WanxiangTaskTimeoutError"
    stats = wanxiang_emulator.stats()
    assert stats["tasks_created"] == 1
    assert stats["final_status"].get("CANCELED") == 1


@pytest.mark.timeout(120)
def test_interrupted_wait_cancels_the_pending_task(wanxiang_emulator: WanxiangEmulator) -> None:
    _stuck_pending(wanxiang_emulator)

    dag_run = run_dag("wx_taskflow_interrupted")

    assert dag_run.state == "failed"
    assert task_states(dag_run) == {"edit_interrupted": "failed"}
    stats = wanxiang_emulator.stats()
    assert stats["tasks_created"] == 1
    assert stats["final_status"].get("CANCELED") == 1


def test_bad_input_fails_before_any_request(wanxiang_emulator: WanxiangEmulator) -> None:
    with pytest.raises(WanxiangValidationError, match=r"\bn\b.*7"):
        WanxiangHook().submit_and_wait("p", [png_data_uri(400, 400)], n=7)
    with pytest.raises(WanxiangValidationError, match="poll_interval"):
        WanxiangHook().submit_and_wait("p", [png_data_uri(400, 400)], poll_interval="soon")
    assert wanxiang_emulator.stats()["tasks_created"] == 0
