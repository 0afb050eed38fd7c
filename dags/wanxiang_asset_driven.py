"""Asset-driven: whenever an upstream pipeline publishes new product photos, edit them and publish the edits.

``wanxiang_photo_intake`` stands in for the upstream pipeline: it updates the ``product_photos_raw`` asset
and says which images are new in the event's ``extra``. ``wanxiang_asset_restyle`` is scheduled on that
asset, edits the new images and declares ``product_photos_edited`` as an outlet of its copy task, so
downstream DAGs can in turn be scheduled on the edited photos.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, task

from airflow_provider_wanxiang.operators.wanxiang import WanxiangCopyResultsOperator, WanxiangSubmitOperator

SAMPLES = Path(__file__).parent / "sample_images"
RAW_PHOTOS = Asset(name="product_photos_raw", uri="file:///tmp/wanxiang-assets/raw/")
EDITED_PHOTOS = Asset(name="product_photos_edited", uri="file:///tmp/wanxiang-assets/edited/")
START = pendulum.datetime(2026, 1, 1, tz="UTC")

with DAG(dag_id="wanxiang_photo_intake", schedule=None, start_date=START, catchup=False, tags=["example"]):

    @task(outlets=[RAW_PHOTOS])
    def publish_new_photos(**context: Any) -> None:
        context["outlet_events"][RAW_PHOTOS].extra["images"] = [str(SAMPLES / "lamp.png")]

    publish_new_photos()

with DAG(
    dag_id="wanxiang_asset_restyle",
    description="Edit new product photos as soon as they are published",
    schedule=[RAW_PHOTOS],
    start_date=START,
    catchup=False,
    tags=["wanxiang", "example"],
) as dag:

    @task
    def new_images(**context: Any) -> list[str]:
        """Images named by the triggering asset events (a manual run falls back to a sample)."""
        images = [
            image
            for event in context["triggering_asset_events"].get(RAW_PHOTOS, [])
            for image in event.extra.get("images", [])
        ]
        return images or [str(SAMPLES / "lamp.png")]

    # One edit per new photo, however many arrived.
    edits = WanxiangSubmitOperator.partial(
        task_id="edit",
        prompt="Give the product a clean, bright e-commerce look on a white background",
        wait_for_completion=True,
        deferrable=True,
        poll_interval=5,
        pool="wanxiang",
    ).expand(images=new_images())
    WanxiangCopyResultsOperator.partial(
        task_id="copy_results",
        destination=EDITED_PHOTOS.uri,
        outlets=[EDITED_PHOTOS],  # each asset event's extra lists the written URIs
    ).expand(wanxiang_task_id=edits.output)
