"""Submit and wait through real Airflow (``dag.test()``: real task runner, XCom, deferral and triggers run
inline) against the emulator over real HTTP, for every way to wait and every way a wait can end."""

from __future__ import annotations

import json

import pytest

from airflow_provider_wanxiang.testing.emulator import WanxiangEmulator
from tests.airflow_runtime import rendered_fields, run_dag, task_states, xcom

WAITING_DAGS = ["wx_wait_deferred", "wx_wait_polled", "wx_sensor_deferrable", "wx_sensor_poke"]


def _waiting_task(dag_prefix: str) -> str:
    return "edit" if dag_prefix.startswith("wx_wait") else "wait"


@pytest.mark.parametrize("dag_prefix", WAITING_DAGS)
def test_success(dag_prefix: str, wanxiang_emulator: WanxiangEmulator) -> None:
    dag_run = run_dag(f"{dag_prefix}_success")
    assert dag_run.state == "success", task_states(dag_run)
    waiter = _waiting_task(dag_prefix)
    task_id = xcom(dag_run, waiter)
    summary = xcom(dag_run, waiter, "wanxiang_summary")
    assert summary["wanxiang_task_id"] == task_id
    assert summary["task_status"] == "SUCCEEDED"
    assert summary["image_count"] == 1
    assert "http" not in json.dumps(summary)
    stats = wanxiang_emulator.stats()
    assert stats["tasks_created"] == 1
    assert stats["final_status"]["SUCCEEDED"] == 1


@pytest.mark.parametrize("dag_prefix", ["wx_wait_deferred", "wx_sensor_deferrable"])
def test_partial_failure_succeeds_by_default(dag_prefix: str) -> None:
    dag_run = run_dag(f"{dag_prefix}_partial")
    assert dag_run.state == "success", task_states(dag_run)
    summary = xcom(dag_run, _waiting_task(dag_prefix), "wanxiang_summary")
    assert (summary["images_succeeded"], summary["images_failed"]) == (1, 1)


@pytest.mark.parametrize("dag_prefix", ["wx_wait_deferred", "wx_wait_polled", "wx_sensor_deferrable"])
def test_partial_failure_fails_when_all_images_are_required(dag_prefix: str) -> None:
    dag_run = run_dag(f"{dag_prefix}_partial_strict")
    assert dag_run.state == "failed"
    assert task_states(dag_run)[_waiting_task(dag_prefix)] == "failed"


@pytest.mark.parametrize("dag_prefix", WAITING_DAGS)
def test_failed_remote_task_fails_the_airflow_task(dag_prefix: str) -> None:
    dag_run = run_dag(f"{dag_prefix}_failed")
    assert dag_run.state == "failed"
    waiter = _waiting_task(dag_prefix)
    assert task_states(dag_run)[waiter] == "failed"
    summary = xcom(dag_run, waiter, "wanxiang_summary")
    assert summary["task_status"] == "FAILED"
    assert summary["code"] == "InternalError.Algo"
    # The remote id and the console link were pushed before the failure, so nothing is lost.
    submitter = "edit" if dag_prefix.startswith("wx_wait") else "submit"
    assert xcom(dag_run, submitter) == summary["wanxiang_task_id"]
    assert summary["wanxiang_task_id"] in xcom(dag_run, submitter, "wanxiang_console_url")


def test_invalid_input_fails_before_any_request(
    wanxiang_emulator: WanxiangEmulator, capfd: pytest.CaptureFixture[str]
) -> None:
    dag_run = run_dag("wx_invalid_input")
    assert dag_run.state == "failed"
    assert wanxiang_emulator.stats()["requests"] == 0
    output = capfd.readouterr()
    assert "n: 7 is above the maximum of 4" in output.out + output.err, output.out[-3000:]


def test_secret_never_reaches_logs_xcom_or_rendered_fields(
    wanxiang_emulator: WanxiangEmulator, capfd: pytest.CaptureFixture[str]
) -> None:
    secret = wanxiang_emulator.api_key
    dag_run = run_dag("wx_sensor_deferrable_success")
    assert dag_run.state == "success"
    captured = capfd.readouterr()
    assert secret not in captured.out + captured.err
    for task_id in ("submit", "wait"):
        for key in ("return_value", "wanxiang_summary", "wanxiang_console_url"):
            assert secret not in json.dumps(xcom(dag_run, task_id, key))
    rendered = rendered_fields(dag_run)
    assert set(rendered) == {"submit", "wait"}
    assert secret not in json.dumps(rendered, default=str)


@pytest.mark.parametrize("dag_id", ["wx_sensor_deferrable_unknown", "wx_sensor_poke_unknown"])
def test_unknown_task_id_fails_the_sensor(dag_id: str) -> None:
    dag_run = run_dag(dag_id)
    assert dag_run.state == "failed"
    assert task_states(dag_run)["wait"] == "failed"


@pytest.mark.parametrize("dag_prefix", WAITING_DAGS)
def test_timeout_fails_and_cancels_the_pending_task(
    dag_prefix: str, wanxiang_emulator: WanxiangEmulator
) -> None:
    # A 300 s emulated edit stays PENDING for its first ~30 s, so it is still cancelable at the 2 s timeout.
    dag_run = run_dag(f"{dag_prefix}_timeout")
    assert dag_run.state == "failed"
    assert task_states(dag_run)[_waiting_task(dag_prefix)] == "failed"
    stats = wanxiang_emulator.stats()
    assert stats["cancels"] == 1
    assert stats["final_status"]["CANCELED"] == 1
