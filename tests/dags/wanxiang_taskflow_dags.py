"""Airflow DAGs for the TaskFlow helper tests: edits from inside ``@task`` functions through ``WanxiangHook``.

The ``wanxiang_default`` connection points at the emulator (set by the tests); emulator prompt markers and
knobs pick the remote outcome. ``dag_run.conf['destination']`` is each test's own directory.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_wanxiang.exceptions import WanxiangTaskTimeoutError
from airflow_provider_wanxiang.hooks.wanxiang import WanxiangHook
from tests.images import png_data_uri

IMAGE = png_data_uri(480, 400, (200, 120, 40))
START = pendulum.datetime(2026, 1, 1, tz="UTC")

# Submit and wait in one @task, copy in the next: the documented recipe (docs/taskflow.md).
with DAG("wx_taskflow_edit", schedule=None, start_date=START, catchup=False) as dag:

    @task
    def edit() -> dict[str, Any]:
        return WanxiangHook().submit_and_wait("Make the sky orange", [IMAGE], n=2, seed=7, poll_interval=0.2)

    @task
    def copy(summary: dict[str, Any], destination: str) -> list[str]:
        return WanxiangHook().copy_results(summary["wanxiang_task_id"], destination)

    copy(edit(), "{{ dag_run.conf['destination'] }}")
    globals()[dag.dag_id] = dag

# The deadline passes while the remote task is still PENDING: the typed timeout error, the task canceled.
with DAG("wx_taskflow_deadline", schedule=None, start_date=START, catchup=False) as dag:

    @task
    def edit_with_deadline() -> dict[str, Any]:
        try:
            WanxiangHook().submit_and_wait("Make the sky orange", [IMAGE], timeout=1, poll_interval=0.2)
        except WanxiangTaskTimeoutError as err:
            return {"error": type(err).__name__, "wanxiang_task_id": err.wanxiang_task_id}
        return {"error": None}

    edit_with_deadline()
    globals()[dag.dag_id] = dag

# Airflow interrupts the wait (execution_timeout): the PENDING remote task is canceled on the way out.
with DAG("wx_taskflow_interrupted", schedule=None, start_date=START, catchup=False) as dag:

    @task(execution_timeout=timedelta(seconds=2))
    def edit_interrupted() -> dict[str, Any]:
        return WanxiangHook().submit_and_wait("Make the sky orange", [IMAGE], timeout=600, poll_interval=0.2)

    edit_interrupted()
    globals()[dag.dag_id] = dag
