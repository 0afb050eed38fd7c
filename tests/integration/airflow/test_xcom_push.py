"""What the submit operator pushes to XCom, with ``do_xcom_push=False``: no ``return_value`` at all, but the
console URL (the extra link reads it) and, after a wait, the URL-free summary."""

from __future__ import annotations

import pytest

from airflow_provider_wanxiang.testing.emulator import WanxiangEmulator
from tests.airflow_runtime import run_dag, task_states, xcom


@pytest.mark.parametrize("mode", ["submit_only", "deferred", "polled"])
def test_do_xcom_push_false_pushes_no_return_value(mode: str, wanxiang_emulator: WanxiangEmulator) -> None:
    dag_run = run_dag(f"wx_no_xcom_push_{mode}")
    assert dag_run.state == "success", task_states(dag_run)
    assert wanxiang_emulator.stats()["tasks_created"] == 1
    assert xcom(dag_run, "edit") is None
    console_url = xcom(dag_run, "edit", "wanxiang_console_url")
    assert isinstance(console_url, str) and console_url.startswith("https://")
    summary = xcom(dag_run, "edit", "wanxiang_summary")
    if mode == "submit_only":
        assert summary is None
    else:
        assert summary["task_status"] == "SUCCEEDED"
        assert summary["wanxiang_task_id"] in console_url
