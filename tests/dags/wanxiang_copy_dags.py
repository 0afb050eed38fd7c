"""Airflow DAGs for the copy tests: submit an edit, wait for it, copy its images to object storage.

Destinations come from ``dag_run.conf`` (each test has its own directory or bucket), which also shows the
templated fields at work. The ``wanxiang_default`` and S3 connections are set by the tests (emulator, moto).
Emulator prompt markers pick the remote outcome: ``[seconds:S]`` run time, ``[partial:K]`` K failed images.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, Asset

from airflow_provider_wanxiang.operators.wanxiang import WanxiangCopyResultsOperator, WanxiangSubmitOperator
from tests.images import png_data_uri

IMAGE = png_data_uri(480, 400, (200, 120, 40))
START = pendulum.datetime(2026, 1, 1, tz="UTC")
#: The asset the happy-path DAG declares; asset-scheduled DAGs would run on its events.
EDITS_ASSET = Asset(name="wanxiang_copy_test_edits", uri="s3://wanxiang-copy-assets/edits")
TASK_ID = "{{ ti.xcom_pull(task_ids='submit') }}"


def _submit(prompt: str, n: int) -> WanxiangSubmitOperator:
    return WanxiangSubmitOperator(
        task_id="submit",
        prompt=prompt,
        images=[IMAGE],
        n=n,
        seed=42,
        wait_for_completion=True,
        deferrable=False,
        poll_interval=0.3,
    )


# A local (file://) destination with sidecars, published as an Asset.
with DAG("wx_copy_file", schedule=None, start_date=START, catchup=False) as dag:
    _submit("Make the sky orange [seconds:0.5]", n=3) >> WanxiangCopyResultsOperator(
        task_id="copy",
        wanxiang_task_id=TASK_ID,
        destination="{{ dag_run.conf['destination'] }}",
        file_name="{{ dag_run.conf.get('prefix', 'edits') }}/{wanxiang_task_id}/{index}.png",
        write_sidecar=True,
        sidecar_metadata={"model": "wan2.5-i2i-preview", "seed": 42},
        outlets=[EDITS_ASSET],
    )
    globals()[dag.dag_id] = dag

# An s3:// destination whose connection is given separately (dest_conn_id), both templated.
with DAG("wx_copy_s3", schedule=None, start_date=START, catchup=False) as dag:
    _submit("Make the sky orange [seconds:0.5]", n=2) >> WanxiangCopyResultsOperator(
        task_id="copy",
        wanxiang_task_id=TASK_ID,
        destination="s3://{{ dag_run.conf['bucket'] }}/edits/",
        dest_conn_id="{{ dag_run.conf['conn_id'] }}",
    )
    globals()[dag.dag_id] = dag

# One of three images fails remotely: accepted (default) or failing the task after copying the other two.
for suffix, strict in (("", False), ("_strict", True)):
    with DAG(f"wx_copy_partial{suffix}", schedule=None, start_date=START, catchup=False) as dag:
        _submit("Three variants [partial:1] [seconds:0.5]", n=3) >> WanxiangCopyResultsOperator(
            task_id="copy",
            wanxiang_task_id=TASK_ID,
            destination="s3://{{ dag_run.conf['bucket'] }}/edits/",
            dest_conn_id="{{ dag_run.conf['conn_id'] }}",
            fail_on_image_failure=strict,
            retries=2,  # must not be used: a remote image failure is final
            retry_delay=timedelta(seconds=0),
        )
        globals()[dag.dag_id] = dag
