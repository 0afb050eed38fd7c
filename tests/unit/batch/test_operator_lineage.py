"""What the batch operator reports as lineage, from a real ledger on the local filesystem: this run's remote
tasks and stored images one by one, and the destination as a whole past ``MAX_LINEAGE_DATASETS``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from airflow_provider_wanxiang.batch.items import ItemPlan
from airflow_provider_wanxiang.batch.ledger import Entry, ItemStatus, Ledger
from airflow_provider_wanxiang.batch.plan import RunPlan
from airflow_provider_wanxiang.copying.destination import destination_root
from airflow_provider_wanxiang.lineage import LineageRef
from airflow_provider_wanxiang.operators import batch as batch_module
from airflow_provider_wanxiang.operators.batch import WanxiangBatchEditOperator

TASKS = "wanxiang://dashscope.example.com"


def _run(tmp_path: Path) -> tuple[WanxiangBatchEditOperator, RunPlan, Ledger]:
    root = destination_root(str(tmp_path), None)
    plans = [ItemPlan(key, f"f-{key}", 1) for key in ("a", "b", "c", "old")]
    ledger = Ledger(root)
    ledger.record("a", Entry("f-a", ItemStatus.SUCCEEDED, task_id="t-a", outputs=((0, 9), (1, 9)), run="r2"))
    ledger.record("b", Entry("f-b", ItemStatus.FAILED, task_id="t-b", code="DataInspectionFailed", run="r2"))
    ledger.record("c", Entry("f-c", ItemStatus.SUCCEEDED, task_id="t-c", outputs=((0, 9),), run="r2"))
    # Done by an earlier run and skipped by this one: nothing of it is this run's lineage.
    ledger.record("old", Entry("f-old", ItemStatus.SUCCEEDED, task_id="t-old", outputs=((0, 9),), run="r1"))
    operator = WanxiangBatchEditOperator(task_id="batch", items=[], destination=str(tmp_path))
    return operator, RunPlan("r2", "digest", 0.0, plans), ledger


@pytest.fixture(autouse=True)
def _connection(wanxiang_connection: Callable[..., str]) -> None:
    wanxiang_connection(host="https://dashscope.example.com", api_key="sk-lineage")


def test_this_runs_tasks_in_and_its_stored_images_out(tmp_path: Path) -> None:
    operator, plan, ledger = _run(tmp_path)

    operator._record_lineage(destination_root(str(tmp_path), None), plan, ledger, "r2")

    assert operator._lineage_inputs == [LineageRef(TASKS, f"tasks/t-{key}") for key in "abc"]
    assert operator._lineage_outputs == [
        LineageRef("file", f"{tmp_path}/a/0.png"),
        LineageRef("file", f"{tmp_path}/a/1.png"),
        LineageRef("file", f"{tmp_path}/c/0.png"),
    ]


def test_past_the_limit_each_side_is_reported_as_a_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch_module, "MAX_LINEAGE_DATASETS", 2)
    operator, plan, ledger = _run(tmp_path)

    operator._record_lineage(destination_root(str(tmp_path), None), plan, ledger, "r2")

    assert operator._lineage_inputs == [LineageRef(TASKS, "tasks")]
    assert operator._lineage_outputs == [LineageRef("file", str(tmp_path))]
