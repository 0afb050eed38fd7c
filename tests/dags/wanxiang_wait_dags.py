"""Airflow DAGs used by the integration tests: every way to wait, for every way a wait can end.

Generated from a small table so each (mode, scenario) pair is its own DAG. Emulator prompt markers pick the
remote outcome: ``[seconds:S]`` run time, ``[partial:K]`` K failed images, ``[fail:CODE]`` a FAILED task.
The ``wanxiang_default`` connection is set by the test (pointing at the emulator).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG

from airflow_provider_wanxiang.operators.wanxiang import WanxiangSubmitOperator
from airflow_provider_wanxiang.sensors.wanxiang import WanxiangTaskSensor
from tests.images import png_data_uri

IMAGE = png_data_uri(480, 400, (30, 140, 200))
START = pendulum.datetime(2026, 1, 1, tz="UTC")
FAST = {"poll_interval": 0.3}

SCENARIOS = {
    "success": {"prompt": "Make the sky orange [seconds:1]"},
    "partial": {"prompt": "Two variants [partial:1] [seconds:0.5]", "n": 2},
    "partial_strict": {
        "prompt": "Two variants [partial:1] [seconds:0.5]",
        "n": 2,
        "require_all_images": True,
    },
    "failed": {"prompt": "Break it [fail:InternalError.Algo] [seconds:0.5]"},
    # 300 s edits stay PENDING for their first ~30 s, so the cancel at the 2 s timeout always finds them
    # PENDING (even when a loaded machine resumes the deferred task seconds late).
    "timeout": {"prompt": "Very slow [seconds:300]", "timeout": 2},
}

for scenario, spec in SCENARIOS.items():
    submit_args = {k: v for k, v in spec.items() if k not in ("require_all_images", "timeout")}
    wait_args = {k: v for k, v in spec.items() if k in ("require_all_images", "timeout")}

    for deferrable in (True, False):
        mode = "deferred" if deferrable else "polled"
        with DAG(f"wx_wait_{mode}_{scenario}", schedule=None, start_date=START, catchup=False) as dag:
            WanxiangSubmitOperator(
                task_id="edit",
                images=[IMAGE],
                wait_for_completion=True,
                deferrable=deferrable,
                **FAST,
                **submit_args,
                **wait_args,
            )
        globals()[dag.dag_id] = dag

        sensor_mode = "deferrable" if deferrable else "poke"
        with DAG(
            f"wx_sensor_{sensor_mode}_{scenario}", schedule=None, start_date=START, catchup=False
        ) as dag:
            submit = WanxiangSubmitOperator(task_id="submit", images=[IMAGE], **submit_args)
            wait = WanxiangTaskSensor(
                task_id="wait",
                wanxiang_task_id="{{ ti.xcom_pull(task_ids='submit') }}",
                deferrable=deferrable,
                poke_interval=0.3,
                **wait_args,
            )
            submit >> wait
        globals()[dag.dag_id] = dag

for deferrable in (True, False):
    sensor_mode = "deferrable" if deferrable else "poke"
    with DAG(f"wx_sensor_{sensor_mode}_unknown", schedule=None, start_date=START, catchup=False) as dag:
        WanxiangTaskSensor(
            task_id="wait",
            wanxiang_task_id="0f0f0f0f-0000-4000-8000-00000000dead",
            deferrable=deferrable,
            poke_interval=0.3,
        )
    globals()[dag.dag_id] = dag

# Worker retries: try 1 times out while the edit is RUNNING (it cannot be canceled), try 2 must re-attach to
# the same remote task (Airflow >= 3.3, task_state_store) instead of paying for a second edit.
for deferrable in (True, False):
    mode = "deferred" if deferrable else "polled"
    with DAG(f"wx_retry_{mode}", schedule=None, start_date=START, catchup=False) as dag:
        WanxiangSubmitOperator(
            task_id="edit",
            prompt="Slow enough to outlive the first try [seconds:4]",
            images=[IMAGE],
            wait_for_completion=True,
            deferrable=deferrable,
            timeout=2.5,
            retries=1,
            retry_delay=timedelta(seconds=0),
            **FAST,
        )
    globals()[dag.dag_id] = dag

# Validation before money: an out-of-range n must fail before any request reaches the service.
with DAG("wx_invalid_input", schedule=None, start_date=START, catchup=False) as dag:
    WanxiangSubmitOperator(task_id="edit", prompt="Four is the limit", images=[IMAGE], n="{{ 3 + 4 }}")
globals()[dag.dag_id] = dag

# Inputs from object storage: the image URI comes from the run's conf (an s3:// object in the tests).
with DAG(
    "wx_input_from_storage", schedule=None, start_date=START, catchup=False, params={"image": IMAGE}
) as dag:
    WanxiangSubmitOperator(
        task_id="edit",
        prompt="Edit an image read from object storage",
        images=["{{ params.image }}"],
        wait_for_completion=True,
        deferrable=False,
        **FAST,
    )
globals()[dag.dag_id] = dag
