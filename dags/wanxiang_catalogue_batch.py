"""Nightly catalogue in one task: a JSON Lines manifest → ``WanxiangBatchEditOperator`` → a report task.

- The manifest is a JSON Lines file in object storage (``s3://aws_default@bucket/catalogue.jsonl`` in
  production; the sample one next to this file by default), one ``{"key", "prompt", "images"}`` item per
  line; a relative image path is read next to the manifest.
- One task edits the whole catalogue: up to 5 edits in flight (the account's quota), 5 creates/s, the next
  item submitted as soon as a slot frees; results land at ``{output}/{key}/{i}.png`` as each edit ends.
- Deferrable: the worker slot is free while the edits run. ``retries`` make it safe against worker loss and
  Airflow 3.2-3.3.2's quick-resume race: a retry re-attaches through the ledger in ``{output}/_wanxiang/``
  and pays for nothing twice. The next night edits only new or changed items.
- ``max_images`` is the money guard: the task refuses before the first create if the manifest asks for more.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, ObjectStoragePath, Param, task

from airflow_provider_wanxiang.operators.batch import WanxiangBatchEditOperator

SAMPLE_MANIFEST = (Path(__file__).parent / "sample_images" / "catalogue.jsonl").as_uri()
EDITED_CATALOGUE = Asset(name="wanxiang_edited_catalogue", uri="file:///tmp/wanxiang-catalogue")

with DAG(
    dag_id="wanxiang_catalogue_batch",
    description="Edit the whole catalogue every night, in one task",
    schedule="0 2 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["wanxiang", "example"],
    params={
        "manifest": Param(
            SAMPLE_MANIFEST, type="string", description="object storage URI of the JSONL manifest"
        ),
        "output": Param("file:///tmp/wanxiang-catalogue", type="string", description="destination prefix"),
    },
) as dag:
    edit = WanxiangBatchEditOperator(
        task_id="edit_catalogue",
        items="{{ params.manifest }}",
        destination="{{ params.output }}",
        max_concurrent=5,
        submit_rps=5.0,
        max_images=1000,
        max_failed=10,  # a few moderated photos should not fail the night; they are in the report
        deferrable=True,
        retries=3,
        outlets=[EDITED_CATALOGUE],
    )

    @task
    def report(summary: dict[str, Any], output: str) -> dict[str, Any]:
        """Read the per-item report the batch wrote and print what needs a person's attention."""
        lines = (ObjectStoragePath(output) / "_wanxiang" / "report.jsonl").read_text().splitlines()
        items = [json.loads(line) for line in lines]
        attention = {i["key"]: i.get("code") for i in items if i["status"] == "failed"}
        print(f"Catalogue: {summary}; needs attention: {attention or 'nothing'}")
        return {"summary": summary, "attention": attention}

    report(edit.output, "{{ params.output }}")
