"""The batch operator through real Airflow (``dag.test()``: real task runner, templating, deferral with the
trigger run inline, XCom, asset events) against the emulator over HTTP, in both modes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_wanxiang.testing.emulator import WanxiangEmulator
from tests.airflow_runtime import run_dag, task_states, xcom
from tests.images import png_data_uri

pytestmark = pytest.mark.integration

IMAGE = png_data_uri(480, 400, (20, 160, 90))


def write_items(path: Path, prompts: dict[str, str], n: int = 1) -> Path:
    with path.open("w") as handle:
        for key, prompt in prompts.items():
            handle.write(json.dumps({"key": key, "prompt": prompt, "images": [IMAGE], "n": n}) + "\n")
    return path


def report(destination: Path) -> dict[str, dict[str, Any]]:
    lines = (destination / "_wanxiang" / "report.jsonl").read_text().splitlines()
    return {line["key"]: line for line in map(json.loads, lines)}


def asset_extras(dag_run: Any) -> list[dict[str, Any]]:
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    with create_session() as session:
        events = session.query(AssetEvent).filter_by(source_run_id=dag_run.run_id).all()
        return [dict(event.extra or {}) for event in events]


PROMPTS = {
    **{f"sku-{i}": f"Make the background white [seconds:1] #{i}" for i in range(6)},
    "moderated": "Make it red [fail:DataInspectionFailed]",
    "partial": "Make it blue [partial:1]",
}


@pytest.mark.parametrize("dag_id", ["wx_batch_worker", "wx_batch_deferrable"])
def test_batch_dag_end_to_end_then_incremental_rerun(
    wanxiang_emulator: WanxiangEmulator, tmp_path: Path, dag_id: str, capfd: pytest.CaptureFixture[str]
) -> None:
    wanxiang_emulator.configure(task_seconds=1.0, task_seconds_spread=0.0, max_concurrent=3, submit_rps=5)
    items = write_items(tmp_path / "items.jsonl", PROMPTS, n=2)
    destination = tmp_path / "out"
    conf = {"items": str(items), "destination": destination.as_uri()}

    first = run_dag(dag_id, run_conf=conf)

    assert first.state == "success", task_states(first)
    # Edits of 1 s outlast the 0.5 s linger: the deferrable task really waits in the trigger, in waves.
    deferrals = capfd.readouterr().out.count("Wanxiang batch: deferring on")
    assert (deferrals > 0) == (dag_id == "wx_batch_deferrable"), deferrals
    summary = xcom(first, "batch")
    assert {k: summary[k] for k in ("total", "succeeded", "failed", "skipped")} == {
        "total": 8,
        "succeeded": 7,
        "failed": 1,
        "skipped": 0,
    }
    assert summary["failed_items"] == {"moderated": "DataInspectionFailed"}
    assert summary["images"] == 6 * 2 + 1  # the partial item billed one of its two images
    stats = wanxiang_emulator.stats()
    assert stats["tasks_created"] == 8  # the moderation failure is not worth paying for again
    assert stats["rejected"] == {}  # never above the quota: no 429 at all
    assert stats["peak_concurrency"] <= 3
    for key in PROMPTS:
        if key != "moderated":
            assert (destination / key / "0.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (destination / "sku-0" / "1.png").exists()
    lines = report(destination)
    assert lines["moderated"]["status"] == "failed"
    assert lines["moderated"]["code"] == "DataInspectionFailed"
    assert lines["partial"]["status"] == "succeeded" and len(lines["partial"]["outputs"]) == 1
    assert asset_extras(first) == [
        {
            "destination": destination.as_uri(),
            "total": 8,
            "succeeded": 7,
            "failed": 1,
            "skipped": 0,
            "images": 13,
        }
    ]

    # Incremental: one prompt changed -> exactly one new create; the moderated item is not paid again.
    write_items(items, {**PROMPTS, "sku-2": "Make the background grey [seconds:1]"}, n=2)
    second = run_dag(dag_id, run_conf=conf)

    assert second.state == "success", task_states(second)
    assert wanxiang_emulator.stats()["tasks_created"] == 9
    summary = xcom(second, "batch")
    assert (summary["succeeded"], summary["skipped"], summary["failed"]) == (1, 6, 1)


def test_failed_items_fail_the_task_after_the_others_are_stored(
    wanxiang_emulator: WanxiangEmulator, tmp_path: Path
) -> None:
    wanxiang_emulator.configure(task_seconds=0.2, task_seconds_spread=0.0)
    prompts = {"good": "Make it green", "bad": "Make it red [fail:InvalidParameter]"}
    conf = {
        "items": str(write_items(tmp_path / "items.jsonl", prompts)),
        "destination": str(tmp_path / "out"),
    }

    dag_run = run_dag("wx_batch_strict", run_conf=conf)

    assert dag_run.state == "failed", task_states(dag_run)
    assert (tmp_path / "out" / "good" / "0.png").exists()
    assert report(tmp_path / "out")["bad"]["code"] == "InvalidParameter"
    assert wanxiang_emulator.stats()["tasks_created"] == 2  # InvalidParameter is not resubmitted


def test_invalid_items_fail_the_task_before_any_create(
    wanxiang_emulator: WanxiangEmulator, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    items = tmp_path / "items.jsonl"
    lines = [
        {"key": "ok", "prompt": "Make it green", "images": [IMAGE]},
        {"key": "bad key", "prompt": "Make it green", "images": [IMAGE]},
        {"key": "too-many", "prompt": "Make it green", "images": [IMAGE], "n": 9},
    ]
    items.write_text("".join(json.dumps(line) + "\n" for line in lines))

    dag_run = run_dag("wx_batch_worker", run_conf={"items": str(items), "destination": str(tmp_path / "out")})

    assert dag_run.state == "failed", task_states(dag_run)
    output = capfd.readouterr().out
    assert "2 of 3 items are invalid; nothing was submitted" in output
    assert "item 1 (key 'bad key'): key: 'bad key' is not a valid key" in output
    assert "item 2 (key 'too-many'): n: 9 is above the maximum of 4" in output
    assert wanxiang_emulator.stats()["tasks_created"] == 0


def test_an_unconfirmed_create_is_not_paid_again_by_the_later_waves_of_a_deferred_batch(
    wanxiang_emulator: WanxiangEmulator, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    wanxiang_emulator.configure(task_seconds=1.0, task_seconds_spread=0.0, max_concurrent=2, submit_rps=5)
    # The service stores the first edit, then answers 500: the batch cannot know whether it exists.
    wanxiang_emulator.inject_faults("create", [{"status": 500, "after_enqueue": True}])
    prompts = {f"sku-{i}": f"Make the background white [seconds:1] #{i}" for i in range(4)}
    items = write_items(tmp_path / "items.jsonl", prompts)
    conf = {"items": str(items), "destination": str(tmp_path / "out")}

    first = run_dag("wx_batch_deferrable", run_conf=conf)

    assert first.state == "success", task_states(first)  # max_failed=100 in this DAG
    output = capfd.readouterr().out
    assert output.count("Wanxiang batch: deferring on") >= 1  # later waves ran, after a deferral
    assert "create of item 'sku-0' is unconfirmed" in output
    assert wanxiang_emulator.stats()["tasks_created"] == 4  # the unconfirmed one once, never again this try
    assert xcom(first, "batch")["failed_items"] == {"sku-0": "CreateUnconfirmed"}
    assert report(tmp_path / "out")["sku-0"]["status"] == "failed"

    # The next run submits it again and names it; the three done items are skipped.
    second = run_dag("wx_batch_deferrable", run_conf=conf)

    assert second.state == "success", task_states(second)
    assert "item 'sku-0' may have been created (and billed)" in capfd.readouterr().out
    assert wanxiang_emulator.stats()["tasks_created"] == 5
    summary = xcom(second, "batch")
    assert (summary["succeeded"], summary["skipped"], summary["failed"]) == (1, 3, 0)
