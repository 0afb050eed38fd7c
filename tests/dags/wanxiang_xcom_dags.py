"""``do_xcom_push=False`` on the submit operator: no ``return_value``, in every way to wait or not wait."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airflow_provider_wanxiang.operators.wanxiang import WanxiangSubmitOperator
from tests.images import png_data_uri

START = pendulum.datetime(2026, 1, 1, tz="UTC")
MODES = {
    "submit_only": {},
    "deferred": {"wait_for_completion": True, "deferrable": True},
    "polled": {"wait_for_completion": True, "deferrable": False},
}

for mode, wait_args in MODES.items():
    with DAG(f"wx_no_xcom_push_{mode}", schedule=None, start_date=START, catchup=False) as dag:
        WanxiangSubmitOperator(
            task_id="edit",
            prompt="Make the sky orange [seconds:0.5]",
            images=[png_data_uri(480, 400)],
            do_xcom_push=False,
            poll_interval=0.3,
            **wait_args,
        )
    globals()[dag.dag_id] = dag
