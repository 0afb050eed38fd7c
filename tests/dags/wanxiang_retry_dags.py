"""Airflow DAGs for the retry policy on a FAILED remote task: retries only where they can help.

Each waiting task has ``retries=2`` (no delay). The emulator's ``[fail:CODE]`` prompt marker makes the edit
end FAILED with CODE: a code resubmitting cannot fix (``InvalidParameter``) must fail the task on its first
try, a transient one (``InternalError.Algo``) must be retried. A sensor never resubmits, so it fails on its
first try either way. The ``wanxiang_default`` connection is set by the test (pointing at the emulator).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG

from airflow_provider_wanxiang.operators.wanxiang import WanxiangSubmitOperator
from airflow_provider_wanxiang.sensors.wanxiang import WanxiangTaskSensor
from tests.images import png_data_uri

IMAGE = png_data_uri(480, 400, (200, 80, 30))
START = pendulum.datetime(2026, 1, 1, tz="UTC")
RETRIES = {"retries": 2, "retry_delay": timedelta(seconds=0)}
CODES = {"rejected": "InvalidParameter", "transient": "InternalError.Algo"}

for kind, code in CODES.items():
    for deferrable in (True, False):
        mode = "deferred" if deferrable else "polled"
        with DAG(f"wx_fail_{kind}_{mode}", schedule=None, start_date=START, catchup=False) as dag:
            WanxiangSubmitOperator(
                task_id="edit",
                prompt=f"Break it [fail:{code}] [seconds:0.2]",
                images=[IMAGE],
                wait_for_completion=True,
                deferrable=deferrable,
                poll_interval=0.3,
                **RETRIES,
            )
        globals()[dag.dag_id] = dag

        sensor_mode = "deferrable" if deferrable else "poke"
        with DAG(
            f"wx_fail_{kind}_sensor_{sensor_mode}", schedule=None, start_date=START, catchup=False
        ) as dag:
            submit = WanxiangSubmitOperator(
                task_id="submit", prompt=f"Break it [fail:{code}] [seconds:0.2]", images=[IMAGE]
            )
            wait = WanxiangTaskSensor(
                task_id="wait",
                wanxiang_task_id="{{ ti.xcom_pull(task_ids='submit') }}",
                deferrable=deferrable,
                poke_interval=0.3,
                **RETRIES,
            )
            submit >> wait
        globals()[dag.dag_id] = dag

# A create whose answer is lost after the service stored the task (the test scripts the fault): try 1 fails
# naming the ambiguous create, try 2 submits again; the log is what lets a user reconcile the duplicate.
with DAG("wx_ambiguous_create", schedule=None, start_date=START, catchup=False) as dag:
    WanxiangSubmitOperator(
        task_id="edit",
        prompt="Make it blue [seconds:0.2]",
        images=[IMAGE],
        wait_for_completion=True,
        deferrable=False,
        poll_interval=0.3,
        retries=1,
        retry_delay=timedelta(seconds=0),
    )
globals()[dag.dag_id] = dag
