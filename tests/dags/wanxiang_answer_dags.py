"""Airflow DAGs for answers the service does not document: a sensor on a task that reports ``SUSPENDED``.

The test points the ``wanxiang_default`` connection at a loopback server that answers ``SUSPENDED`` a few
times and then ``SUCCEEDED``; the sensor must keep waiting and warn once in the task log.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG

from airflow_provider_wanxiang.sensors.wanxiang import WanxiangTaskSensor

START = pendulum.datetime(2026, 1, 1, tz="UTC")
SUSPENDED_TASK_ID = "5b5b5b5b-0000-4000-8000-000000005005"

for deferrable in (True, False):
    mode = "deferrable" if deferrable else "poke"
    with DAG(f"wx_sensor_{mode}_suspended", schedule=None, start_date=START, catchup=False) as dag:
        WanxiangTaskSensor(
            task_id="wait",
            wanxiang_task_id=SUSPENDED_TASK_ID,
            deferrable=deferrable,
            poke_interval=0.2,
            timeout=60,
        )
    globals()[dag.dag_id] = dag
