"""Quick start: one wan2.5 image edit, waited for in the triggerer, results copied to a local folder.

Run it offline against the bundled emulator (``make demo`` does exactly this)::

    wanxiang-emulator --port 8765 --task-seconds 5 &
    export AIRFLOW_CONN_WANXIANG_DEFAULT='{"conn_type": "wanxiang", "password": "sk-emulator", "host": "http://127.0.0.1:8765"}'
    airflow dags test wanxiang_quickstart -c '{"output_dir": "/tmp/wanxiang-quickstart"}'

Against Model Studio, set the connection to your key and region instead (see the README).
"""

from __future__ import annotations

from pathlib import Path

import pendulum
from airflow.sdk import DAG, Param

from airflow_provider_wanxiang.operators.wanxiang import WanxiangCopyResultsOperator, WanxiangSubmitOperator

SAMPLES = Path(__file__).parent / "sample_images"

with DAG(
    dag_id="wanxiang_quickstart",
    description="Edit one product photo with wan2.5 and keep the result",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["wanxiang", "example"],
    params={
        "image": Param(
            str(SAMPLES / "mug.png"), type="string", description="URL, path or object storage URI"
        ),
        "prompt": Param("Place the mug on a white studio backdrop with a soft shadow", type="string"),
        "output_dir": Param("/tmp/wanxiang-quickstart", type="string", description="where the PNGs go"),
    },
) as dag:
    edit = WanxiangSubmitOperator(
        task_id="edit",
        prompt="{{ params.prompt }}",
        images=["{{ params.image }}"],
        n=1,
        wait_for_completion=True,
        deferrable=True,  # the 30 s-2 min wait happens in the triggerer, not in a worker slot
        poll_interval=2,
    )
    copy = WanxiangCopyResultsOperator(
        task_id="copy_results",
        wanxiang_task_id=edit.output,
        destination="file://{{ params.output_dir }}/",
    )
    edit >> copy
