"""Airflow DAGs of the batch benchmark (``benchmarks/batch_airflow.py``): the same N edits three ways.

- ``wx_bench_batch_worker``: one ``WanxiangBatchEditOperator`` task, ``deferrable=False``.
- ``wx_bench_batch_deferrable``: the same, ``deferrable=True`` (waves, ``WanxiangBatchTrigger``), with the
  retries docs/batch.md asks for (Airflow 3.2-3.3.2's quick defer/resume race).
- ``wx_bench_mapped``: the documented recipe before the batch operator (dags/wanxiang_nightly_batch.py,
  docs/waiting.md): dynamic task mapping of the deferrable ``WanxiangSubmitOperator`` behind the 5-slot
  ``wanxiang`` pool counting deferred tasks, then a mapped ``WanxiangCopyResultsOperator``. Operator defaults
  (the trigger's 1.5 s poll) except the recipe's ``retries=2``, with a 1 s ``retry_delay`` like the batch's.

The run's ``conf`` gives ``n`` (items) and ``destination`` (an absolute local folder). Every item is the
same tiny picture with its own key and seed; the emulator's run time (fixed, no spread) is set by the
benchmark. The ``wanxiang_default`` connection comes from the processes' environment.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, task

from airflow_provider_wanxiang.operators.batch import WanxiangBatchEditOperator
from airflow_provider_wanxiang.operators.wanxiang import WanxiangCopyResultsOperator, WanxiangSubmitOperator

POOL = "wanxiang"
START = pendulum.datetime(2026, 1, 1, tz="UTC")
PROMPT = "Put the product on a white background"


def _image() -> str:
    from tests.images import png_data_uri

    return png_data_uri(480, 400, (20, 160, 90))


@task
def batch_items(**context: Any) -> list[dict[str, Any]]:
    """The batch operator's items: ``{"key", "prompt", "images", "seed"}``."""
    image = _image()
    count = int(context["dag_run"].conf["n"])
    return [{"key": f"sku-{i:05d}", "prompt": PROMPT, "images": [image], "seed": i} for i in range(count)]


@task
def submit_kwargs(**context: Any) -> list[dict[str, Any]]:
    """The mapped recipe's per-item submit arguments: the same edits as :func:`batch_items`."""
    image = _image()
    count = int(context["dag_run"].conf["n"])
    return [{"prompt": PROMPT, "images": [image], "seed": i} for i in range(count)]


for mode, deferrable in (("worker", False), ("deferrable", True)):
    with DAG(
        f"wx_bench_batch_{mode}",
        schedule=None,
        start_date=START,
        catchup=False,
        is_paused_upon_creation=False,
        tags=["benchmark"],
    ):
        WanxiangBatchEditOperator(
            task_id="batch",
            items=batch_items(),
            destination="{{ dag_run.conf['destination'] }}",
            max_concurrent=5,
            submit_rps=5.0,
            deferrable=deferrable,
            retries=3,
            retry_delay=timedelta(seconds=1),
        )

with DAG(
    "wx_bench_mapped",
    schedule=None,
    start_date=START,
    catchup=False,
    is_paused_upon_creation=False,
    tags=["benchmark"],
):
    edits = WanxiangSubmitOperator.partial(
        task_id="edit",
        wait_for_completion=True,
        deferrable=True,
        pool=POOL,
        retries=2,
        # As the batch tasks': Airflow's default 300 s would stall a run whose resume hit the state-mismatch
        # race (likely with 1 s edits: the trigger fires within a second of the deferral).
        retry_delay=timedelta(seconds=1),
    ).expand_kwargs(submit_kwargs())
    WanxiangCopyResultsOperator.partial(
        task_id="copy_results",
        destination="{{ dag_run.conf['destination'] }}/",
        trigger_rule="all_done",
    ).expand(wanxiang_task_id=edits.output)
