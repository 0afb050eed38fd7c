"""Airflow DAGs for the batch operator tests: one batch task in the worker, one deferrable, one on S3.

Items (a JSON Lines path) and the destination come from ``dag_run.conf`` so each test has its own; the
``wanxiang_default`` and S3 connections are set by the tests (emulator, moto). Prompt markers of the emulator
pick each item's fate (``[fail:CODE]``, ``[partial:K]``, ``[seconds:S]``).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Asset

from airflow_provider_wanxiang.operators.batch import WanxiangBatchEditOperator

START = pendulum.datetime(2026, 1, 1, tz="UTC")
#: The asset the batch DAGs declare for their destination.
BATCH_ASSET = Asset(name="wanxiang_batch_test_edits", uri="s3://wanxiang-batch-assets/edits")


def _batch(deferrable: bool, **kwargs: object) -> WanxiangBatchEditOperator:
    return WanxiangBatchEditOperator(
        task_id="batch",
        items="{{ dag_run.conf['items'] }}",
        destination="{{ dag_run.conf['destination'] }}",
        max_images="{{ dag_run.conf.get('max_images') }}",
        max_concurrent=3,
        submit_rps=5.0,
        poll_interval=0.2,
        linger=0.5,
        deferrable=deferrable,
        outlets=[BATCH_ASSET],
        **kwargs,  # type: ignore[arg-type]
    )


with DAG("wx_batch_worker", schedule=None, start_date=START, catchup=False) as dag:
    _batch(deferrable=False, max_failed=100)
    globals()[dag.dag_id] = dag

with DAG("wx_batch_deferrable", schedule=None, start_date=START, catchup=False) as dag:
    _batch(deferrable=True, max_failed=100)
    globals()[dag.dag_id] = dag

with DAG("wx_batch_strict", schedule=None, start_date=START, catchup=False) as dag:
    _batch(deferrable=False)
    globals()[dag.dag_id] = dag
