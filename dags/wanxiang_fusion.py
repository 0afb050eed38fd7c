"""Multi-image fusion: 2-3 input images combined into one scene, with every wan2.5 parameter shown.

The submit task only submits (it returns the remote task id at once); a deferrable sensor waits; the copy
task keeps the results. ``n=2`` asks for two variants; ``require_all_images`` decides whether one
moderated variant fails the run (here: no, the other variant is still kept).
"""

from __future__ import annotations

from pathlib import Path

import pendulum
from airflow.sdk import DAG, Param

from airflow_provider_wanxiang.operators.wanxiang import WanxiangCopyResultsOperator, WanxiangSubmitOperator
from airflow_provider_wanxiang.sensors.wanxiang import WanxiangTaskSensor

SAMPLES = Path(__file__).parent / "sample_images"

with DAG(
    dag_id="wanxiang_fusion",
    description="Fuse a lamp and a mug into a table scene",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["wanxiang", "example"],
    params={"output_dir": Param("/tmp/wanxiang-fusion", type="string")},
) as dag:
    submit = WanxiangSubmitOperator(
        task_id="fuse",
        # Images are referred to by their order: "Image 1", "Image 2", ...
        prompt="Put the lamp from Image 1 and the mug from Image 2 on the table in Image 3, evening light",
        images=[str(SAMPLES / "lamp.png"), str(SAMPLES / "mug.png"), str(SAMPLES / "table.png")],
        negative_prompt="blurry, distorted, extra objects, text",
        n=2,  # two variants (billed per successful image)
        size="1280*960",  # W*H: 768²-1280² pixels, ratio 1:4-4:1; omit for ~1280² at the last image's ratio
        seed=20261125,  # reproducible; variant k uses seed + k
        prompt_extend=True,  # let the service rewrite the prompt (results carry actual_prompt)
        watermark=False,
        wanxiang_conn_id="wanxiang_default",
    )
    wait = WanxiangTaskSensor(
        task_id="wait",
        wanxiang_task_id=submit.output,
        deferrable=True,
        poke_interval=2,
        timeout=30 * 60,
        require_all_images=False,
    )
    copy = WanxiangCopyResultsOperator(
        task_id="copy_results",
        wanxiang_task_id=submit.output,
        destination="file://{{ params.output_dir }}/",
        file_name="{wanxiang_task_id}/variant-{index}.png",
        write_sidecar=True,  # a JSON next to each PNG: prompt, actual_prompt, size, timestamps
    )
    submit >> wait >> copy
