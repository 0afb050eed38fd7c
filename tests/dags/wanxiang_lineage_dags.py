"""Airflow DAGs for the lineage tests: an edit and its copy, with operators and with the TaskFlow helper,
and a batch.

Bucket and connection come from ``dag_run.conf``; the input images from the Variable
``wanxiang_lineage_images`` (a JSON list) and the batch's items from ``wanxiang_lineage_batch_items``,
because OpenLineage copies a run's whole ``conf`` into its events and the test checks that the inputs'
signed query string appears nowhere in them. The ``wanxiang_default`` and S3 connections are set by the
test (emulator, moto). The lineage tests run these in a subprocess with the OpenLineage file transport
configured (tests/integration/lineage/run_dags.py); in the normal test session they are only parsed.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_wanxiang.hooks.wanxiang import WanxiangHook
from airflow_provider_wanxiang.operators.batch import WanxiangBatchEditOperator
from airflow_provider_wanxiang.operators.wanxiang import WanxiangCopyResultsOperator, WanxiangSubmitOperator

START = pendulum.datetime(2026, 1, 1, tz="UTC")

# Operators: submit (inputs → the remote task), then copy (the remote task → the written objects).
with DAG("wx_lineage_operators", schedule=None, start_date=START, catchup=False) as dag:
    WanxiangSubmitOperator(
        task_id="submit",
        prompt="Make the sky orange",
        images="{{ var.value.wanxiang_lineage_images }}",
        n=2,
        wait_for_completion=True,
        deferrable=False,
        poll_interval=0.3,
    ) >> WanxiangCopyResultsOperator(
        task_id="copy",
        wanxiang_task_id="{{ ti.xcom_pull(task_ids='submit') }}",
        destination="s3://{{ dag_run.conf['bucket'] }}/edits/",
        dest_conn_id="{{ dag_run.conf['conn_id'] }}",
    )
    globals()[dag.dag_id] = dag

# TaskFlow: the same edit and copy from inside one @task through the hook's helper.
with DAG("wx_lineage_taskflow", schedule=None, start_date=START, catchup=False) as dag:

    @task
    def edit(images: list[str], bucket: str, conn_id: str) -> list[str]:
        return WanxiangHook().edit_and_copy(
            "Make the sky orange",
            images,
            f"s3://{bucket}/taskflow/",
            dest_conn_id=conn_id,
            n=2,
            poll_interval=0.3,
        )

    edit(
        "{{ var.value.wanxiang_lineage_images }}",
        "{{ dag_run.conf['bucket'] }}",
        "{{ dag_run.conf['conn_id'] }}",
    )
    globals()[dag.dag_id] = dag

# The batch: its remote tasks in, the images it stored out.
with DAG("wx_lineage_batch", schedule=None, start_date=START, catchup=False) as dag:
    WanxiangBatchEditOperator(
        task_id="batch",
        items="{{ var.value.wanxiang_lineage_batch_items }}",
        destination="s3://{{ dag_run.conf['bucket'] }}/batch/",
        dest_conn_id="{{ dag_run.conf['conn_id'] }}",
        deferrable=False,
        poll_interval=0.3,
    )
    globals()[dag.dag_id] = dag
