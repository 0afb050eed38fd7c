"""The wait lifecycle's pure parts: the wait's settings and deadline, deferring, resuming and finishing.

No network: finishing a successful or failed outcome makes no request (only a timeout cancels), and
deferring only raises Airflow's ``TaskDeferred``. The scenarios through real Airflow and the emulator
(polling in the worker, the deferred path, cancel on timeout) are in tests/integration/airflow.
"""

from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import BaseOperator, TaskDeferred

from airflow_provider_wanxiang.exceptions import (
    WanxiangSensorTaskFailedError,
    WanxiangTaskFailedError,
    WanxiangTaskRejectedError,
)
from airflow_provider_wanxiang.hooks.wanxiang import WanxiangHook
from airflow_provider_wanxiang.outcomes import OutcomeStatus, TaskOutcome
from airflow_provider_wanxiang.waiting import (
    DEFERRAL_GRACE,
    SUMMARY_XCOM_KEY,
    Wait,
    defer,
    finish_wait,
    resume,
)

SUMMARY = {"wanxiang_task_id": "t-1", "task_status": "SUCCEEDED", "images_total": 1, "images_failed": 0}


class _TI:
    def __init__(self, try_number: int = 1) -> None:
        self.try_number = try_number
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value


def test_a_wait_ends_timeout_seconds_after_it_begins() -> None:
    before = time.time()
    wait = Wait.begin("t-1", "conn", 2.5, 3, 600.0)
    after = time.time()
    assert before + 600 <= wait.end_time <= after + 600
    schedule = wait.schedule()
    assert (schedule.wanxiang_task_id, schedule.poll_interval, schedule.end_time, schedule.error_budget) == (
        "t-1",
        2.5,
        wait.end_time,
        3,
    )


def test_defer_hands_the_wait_to_the_trigger_with_the_grace_timeout() -> None:
    wait = Wait.begin("t-1", "conn", 2.5, 3, 600.0)
    with pytest.raises(TaskDeferred) as deferred:
        defer(BaseOperator(task_id="waits"), {"ti": _TI(try_number=4)}, wait)  # type: ignore[typeddict-item]
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.timeout == timedelta(seconds=600) + DEFERRAL_GRACE
    _, kwargs = deferred.value.trigger.serialize()
    assert kwargs["wanxiang_task_id"] == "t-1" and kwargs["wanxiang_conn_id"] == "conn"
    assert (kwargs["end_time"], kwargs["poll_interval"], kwargs["error_budget"]) == (wait.end_time, 2.5, 3)
    assert kwargs["deferred_in_try"] == 4  # echoed in the event, for the stale-resume rule


class _Task:
    """A minimal task that waits: records how :func:`resume` ended or restarted its wait."""

    def __init__(self) -> None:
        self.log = SimpleNamespace(info=lambda *args: None, warning=lambda *args, **kw: None)
        self.calls: list[tuple[str, Any]] = []

    def end_wait(self, context: Any, outcome: TaskOutcome) -> str:
        self.calls.append(("end", outcome.status))
        return "ended"

    def restart_wait(self, context: Any, wanxiang_task_id: str) -> str:
        self.calls.append(("restart", wanxiang_task_id))
        return "restarted"


def _event(deferred_in_try: int | None) -> dict[str, Any]:
    return TaskOutcome(OutcomeStatus.SUCCESS, "t-1", "done", deferred_in_try=deferred_in_try).to_event()


@pytest.mark.parametrize(("deferred_in_try", "expected"), [(2, "end"), (None, "end"), (1, "restart")])
def test_resume_ends_the_wait_unless_the_event_belongs_to_an_earlier_try(
    deferred_in_try: int | None, expected: str
) -> None:
    task = _Task()
    result = resume(task, {"ti": _TI(try_number=2)}, _event(deferred_in_try))  # type: ignore[arg-type]
    assert task.calls == [("end", OutcomeStatus.SUCCESS) if expected == "end" else ("restart", "t-1")]
    assert result == ("ended" if expected == "end" else "restarted")


@pytest.mark.parametrize("event", [None, {"status": "done"}, {"status": "success", "wanxiang_task_id": ""}])
def test_resume_refuses_a_malformed_event(event: Any) -> None:
    task = _Task()
    with pytest.raises(ValueError, match="event"):
        resume(task, {"ti": _TI()}, event)  # type: ignore[arg-type]
    assert task.calls == []


def test_finish_pushes_the_summary_and_returns_the_task_id() -> None:
    ti = _TI()
    outcome = TaskOutcome(OutcomeStatus.SUCCESS, "t-1", "done", summary=SUMMARY)
    assert finish_wait({"ti": ti}, outcome, WanxiangHook("unused"), require_all_images=False) == "t-1"  # type: ignore[typeddict-item]
    assert ti.xcoms == {SUMMARY_XCOM_KEY: SUMMARY}


@pytest.mark.parametrize(
    ("code", "failed_error", "raised"),
    [
        ("InternalError.Algo", WanxiangTaskFailedError, WanxiangTaskFailedError),
        ("InternalError.Algo", WanxiangSensorTaskFailedError, WanxiangSensorTaskFailedError),
        ("DataInspectionFailed", WanxiangSensorTaskFailedError, WanxiangTaskRejectedError),
    ],
)
def test_finish_pushes_the_summary_before_raising_for_a_failure(
    code: str, failed_error: type[WanxiangTaskFailedError], raised: type[Exception]
) -> None:
    ti = _TI()
    summary = {**SUMMARY, "task_status": "FAILED", "code": code}
    outcome = TaskOutcome(OutcomeStatus.FAILED, "t-1", "failed", code=code, summary=summary)
    with pytest.raises(raised) as caught:
        finish_wait(
            {"ti": ti},  # type: ignore[typeddict-item]
            outcome,
            WanxiangHook("unused"),
            require_all_images=False,
            failed_error=failed_error,
        )
    assert type(caught.value) is raised
    assert ti.xcoms == {SUMMARY_XCOM_KEY: summary}
