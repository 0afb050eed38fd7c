"""Nightly batch: a manifest of catalogue items → one edit per item (dynamic task mapping) → copy → summary.

- The manifest is a JSON file in object storage (``s3://...``, ``gs://...``, ``file://...``) listing
  ``{"sku", "image", "prompt"}`` items; a relative ``image`` is resolved next to the manifest.
- Edits are limited by the ``wanxiang`` pool, sized to the account's 5 concurrent tasks, counting deferred
  tasks (``airflow pools set wanxiang 5 "wan2.5 edits" --include-deferred``), so no submit is throttled.
- One failed edit does not stop the others: copies and the summary run for whatever finished.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import DAG, ObjectStoragePath, Param, task

from airflow_provider_wanxiang.operators.wanxiang import WanxiangCopyResultsOperator, WanxiangSubmitOperator

SAMPLE_MANIFEST = (Path(__file__).parent / "sample_images" / "manifest.json").as_uri()
POOL = "wanxiang"

with DAG(
    dag_id="wanxiang_nightly_batch",
    description="Re-style the catalogue every night",
    schedule="0 2 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["wanxiang", "example"],
    params={
        "manifest": Param(SAMPLE_MANIFEST, type="string", description="object storage URI of the manifest"),
        "output": Param("file:///tmp/wanxiang-nightly/", type="string", description="destination prefix"),
    },
) as dag:

    @task
    def read_manifest(manifest: str) -> list[dict[str, Any]]:
        """One submit-operator kwargs dict per manifest item."""
        path = ObjectStoragePath(manifest)
        items = json.loads(path.read_text())["items"]
        requests = []
        for item in items:
            image = str(item["image"])
            if "://" not in image and not image.startswith("/"):
                image = str(path.parent / image)
            requests.append({"prompt": item["prompt"], "images": [image]})
        return requests

    edits = WanxiangSubmitOperator.partial(
        task_id="edit",
        wait_for_completion=True,
        deferrable=True,
        poll_interval=10,
        pool=POOL,
        retries=2,  # on Airflow >= 3.3 a retry re-attaches to the remote task instead of paying again
    ).expand_kwargs(read_manifest("{{ params.manifest }}"))

    copies = WanxiangCopyResultsOperator.partial(
        task_id="copy_results",
        destination="{{ params.output }}{{ ds }}/",
        trigger_rule="all_done",  # copy whatever finished; failed edits fail their own copy clearly
    ).expand(wanxiang_task_id=edits.output)

    @task(trigger_rule="all_done")
    def summarize(**context: Any) -> dict[str, Any]:
        """Totals for the night: edits succeeded/failed, images produced and billed."""
        ti = context["ti"]
        summaries = [s for s in ti.xcom_pull(task_ids="edit", key="wanxiang_summary") or [] if s]
        copied = [uris for uris in ti.xcom_pull(task_ids="copy_results") or [] if uris]
        result = {
            "edits": len(summaries),
            "succeeded": sum(1 for s in summaries if s["task_status"] == "SUCCEEDED"),
            "failed": sum(1 for s in summaries if s["task_status"] != "SUCCEEDED"),
            "images_billed": sum(int(s["image_count"]) for s in summaries),
            "images_failed": sum(int(s["images_failed"]) for s in summaries),
            "images_copied": sum(len(uris) for uris in copied),
        }
        print(f"Nightly Wanxiang batch: {result}")
        return result

    copies >> summarize()
