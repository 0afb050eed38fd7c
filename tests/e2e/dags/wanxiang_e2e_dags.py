"""Airflow DAGs for the end-to-end suite (real scheduler, LocalExecutor workers and triggerer).

Only this file is placed in the e2e stack's own DAGs folder. Remote tasks are made long on purpose
(``[seconds:600]``): the test decides when they finish by moving the emulator's clock forward, so a
triggerer restart or a polling failure always happens while the edits are still running remotely, however
slow this machine is. The ``wanxiang_default`` connection comes from the environment of the processes.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG

from airflow_provider_wanxiang.operators.batch import WanxiangBatchEditOperator
from airflow_provider_wanxiang.operators.wanxiang import WanxiangSubmitOperator
from airflow_provider_wanxiang.sensors.wanxiang import WanxiangTaskSensor
from tests.images import png_data_uri

#: Number of deferred edits in the triggerer-restart DAG (the test asserts one remote task per edit).
EDITS = 4
#: Far longer than any test waits: the test ends the remote run by advancing the emulator clock.
LONG_RUN = "[seconds:600]"
START = pendulum.datetime(2026, 1, 1, tz="UTC")


with DAG(
    "wx_e2e_triggerer_restart",
    schedule=None,
    start_date=START,
    catchup=False,
    is_paused_upon_creation=False,
    max_active_tasks=EDITS,
    tags=["e2e"],
) as triggerer_restart_dag:
    for index in range(EDITS):
        WanxiangSubmitOperator(
            task_id=f"edit_{index}",
            prompt=f"Repaint the sky, variant {index} {LONG_RUN}",
            images=[png_data_uri(400 + 40 * index, 480, (30 + 40 * index, 140, 200))],
            wait_for_completion=True,
            deferrable=True,
            poll_interval=1.0,
        )

with DAG(
    "wx_e2e_sensor_retry",
    schedule=None,
    start_date=START,
    catchup=False,
    is_paused_upon_creation=False,
    tags=["e2e"],
) as sensor_retry_dag:
    submit = WanxiangSubmitOperator(
        task_id="submit",
        prompt=f"Add a red balloon {LONG_RUN}",
        images=[png_data_uri(512, 512, (200, 200, 60))],
    )
    wait = WanxiangTaskSensor(
        task_id="wait",
        wanxiang_task_id="{{ ti.xcom_pull(task_ids='submit') }}",
        deferrable=True,
        poke_interval=1.0,
        # One transient polling error is tolerated, the second ends try 1; the retry re-attaches.
        error_budget=1,
        retries=1,
        retry_delay=timedelta(seconds=1),
    )
    submit >> wait

with DAG(
    "wx_e2e_user_kill",
    schedule=None,
    start_date=START,
    catchup=False,
    is_paused_upon_creation=False,
    max_active_tasks=2,
    tags=["e2e"],
) as user_kill_dag:
    # Two independent edits; the test limits the emulator to one concurrent task in queue mode, so the
    # edit created second stays PENDING behind the first while both wait deferred in the triggerer.
    for name, colour in (("edit_a", (220, 80, 40)), ("edit_b", (40, 80, 220))):
        WanxiangSubmitOperator(
            task_id=name,
            prompt=f"Turn the square into a kite ({name}) {LONG_RUN}",
            images=[png_data_uri(512, 512, colour)],
            wait_for_completion=True,
            deferrable=True,
            poll_interval=1.0,
        )

#: Failed items a batch DAG of the e2e suite tolerates (the test marks fewer to fail and asserts the count):
#: the task must end ``success`` once every other item is stored, so re-runs can be compared.
BATCH_MAX_FAILED = 20

for batch_dag_id, batch_deferrable in (("wx_e2e_batch_deferrable", True), ("wx_e2e_batch_worker", False)):
    with DAG(
        batch_dag_id,
        schedule=None,
        start_date=START,
        catchup=False,
        is_paused_upon_creation=False,
        max_active_runs=1,
        tags=["e2e"],
    ):
        # The catalogue (a JSON Lines manifest) and the destination come from the run's conf: the test
        # writes them in its own temporary folder and re-runs the DAG over the same destination.
        WanxiangBatchEditOperator(
            task_id="batch",
            items="{{ dag_run.conf['items'] }}",
            destination="{{ dag_run.conf['destination'] }}",
            max_concurrent=5,
            submit_rps=5.0,
            deferrable=batch_deferrable,
            poll_interval=1.0,
            # Short edits (0.5 s) end well within 3 s of each other, so a wave defers only when every slot
            # holds one of the test's long edits: a few waves, each a real wait in the triggerer.
            linger=3.0,
            max_failed=BATCH_MAX_FAILED,
            # The test SIGKILLs the task process: Airflow retries it and the ledger resumes the batch.
            retries=4,
            retry_delay=timedelta(seconds=1),
        )
