"""The submit operator's own status queries, counted at the emulator (not timed): the create's answer is
the try's first status read, so a deferrable edit hands its wait to the trigger without querying first."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_provider_wanxiang.operators.wanxiang import WanxiangSubmitOperator
from airflow_provider_wanxiang.testing.emulator import WanxiangEmulator
from tests.images import png_data_uri

pytestmark = pytest.mark.integration

IMAGE = png_data_uri(480, 400, (20, 160, 90))


class _TI:
    try_number = 1

    def __init__(self) -> None:
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


def test_a_fresh_create_defers_without_a_status_query(wanxiang_emulator: WanxiangEmulator) -> None:
    operator = WanxiangSubmitOperator(
        task_id="edit",
        prompt="Make it white [seconds:5]",
        images=[IMAGE],
        deferrable=True,
        wait_for_completion=True,
    )
    ti = _TI()

    with pytest.raises(TaskDeferred) as deferred:
        operator.execute({"ti": ti})  # type: ignore[arg-type]  # the keys the operator reads

    stats = wanxiang_emulator.stats()
    assert (stats["tasks_created"], stats["task_queries"]) == (1, 0)
    assert deferred.value.trigger.serialize()[1]["wanxiang_task_id"] == ti.xcoms["return_value"]


def test_a_fresh_create_waited_for_in_the_worker_still_ends_with_the_task(
    wanxiang_emulator: WanxiangEmulator,
) -> None:
    wanxiang_emulator.configure(task_seconds=0.0, task_seconds_spread=0.0)
    operator = WanxiangSubmitOperator(
        task_id="edit",
        prompt="Make it white",
        images=[IMAGE],
        deferrable=False,
        poll_interval=0.1,
        wait_for_completion=True,
    )
    ti = _TI()

    assert operator.execute({"ti": ti}) == ti.xcoms["return_value"]  # type: ignore[arg-type]

    stats = wanxiang_emulator.stats()
    # The create's PENDING stood for the first read; the schedule's first query found the edit done.
    assert (stats["tasks_created"], stats["task_queries"]) == (1, 1)
    assert ti.xcoms["wanxiang_summary"]["task_status"] == "SUCCEEDED"
