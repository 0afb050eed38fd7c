"""The wait-outcome contract: event validation and the exception chosen for each outcome."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_wanxiang.exceptions import (
    WanxiangPartialFailureError,
    WanxiangPollingError,
    WanxiangSensorTimeout,
    WanxiangTaskCanceledError,
    WanxiangTaskFailedError,
    WanxiangTaskTimeoutError,
    WanxiangTaskUnknownError,
    raise_for_outcome,
)
from airflow_provider_wanxiang.outcomes import OutcomeStatus, TaskOutcome


def _outcome(status: str, **summary: Any) -> TaskOutcome:
    return TaskOutcome.from_event(
        {
            "status": status,
            "wanxiang_task_id": "t-1",
            "message": f"it was {status}",
            "code": "X",
            "summary": summary,
        }
    )


@pytest.mark.parametrize(
    "event",
    [
        None,
        "success",
        {},
        {"status": "success"},
        {"status": "nope", "wanxiang_task_id": "t"},
        {"status": "success", "wanxiang_task_id": ""},
        {"status": "success", "wanxiang_task_id": "t", "summary": []},
    ],
)
def test_malformed_events_are_rejected(event: Any) -> None:
    with pytest.raises(ValueError, match="Wanxiang trigger event"):
        TaskOutcome.from_event(event)


def test_event_round_trip() -> None:
    outcome = TaskOutcome(
        OutcomeStatus.FAILED, "t-9", "boom", code="InternalError", summary={"images_total": 1}
    )
    assert TaskOutcome.from_event(outcome.to_event()) == outcome


@pytest.mark.parametrize(
    ("status", "exception"),
    [
        ("failed", WanxiangTaskFailedError),
        ("canceled", WanxiangTaskCanceledError),
        ("unknown", WanxiangTaskUnknownError),
        ("timeout", WanxiangTaskTimeoutError),
        ("error", WanxiangPollingError),
    ],
)
def test_each_bad_outcome_raises_its_own_exception(status: str, exception: type[Exception]) -> None:
    with pytest.raises(exception, match=f"it was {status}") as info:
        raise_for_outcome(_outcome(status))
    assert info.value.wanxiang_task_id == "t-1"  # type: ignore[attr-defined]
    assert info.value.code == "X"  # type: ignore[attr-defined]


def test_sensor_timeout_is_an_airflow_sensor_timeout() -> None:
    from airflow.providers.common.compat.sdk import AirflowSensorTimeout

    with pytest.raises(AirflowSensorTimeout):
        raise_for_outcome(_outcome("timeout"), timeout_error=WanxiangSensorTimeout)


def test_partial_success_passes_unless_all_images_are_required() -> None:
    outcome = _outcome(
        "success",
        images_total=2,
        images_failed=1,
        failed_images=[{"index": 1, "code": "DataInspectionFailed"}],
    )
    assert raise_for_outcome(outcome)["images_failed"] == 1
    with pytest.raises(
        WanxiangPartialFailureError, match=r"1 of 2 image\(s\) failed \(DataInspectionFailed\)"
    ):
        raise_for_outcome(outcome, require_all_images=True)


def test_stale_resume_is_recognised_by_the_try_number() -> None:
    from airflow_provider_wanxiang.operators.wanxiang import is_stale_resume

    class _TI:
        try_number = 2

    context: Any = {"ti": _TI()}
    replayed = TaskOutcome(OutcomeStatus.TIMEOUT, "t", "late", deferred_in_try=1)
    current = TaskOutcome(OutcomeStatus.TIMEOUT, "t", "late", deferred_in_try=2)
    legacy = TaskOutcome(OutcomeStatus.TIMEOUT, "t", "late")
    assert is_stale_resume(context, replayed)
    assert not is_stale_resume(context, current)
    assert not is_stale_resume(context, legacy)


def test_deferred_in_try_must_be_an_int() -> None:
    with pytest.raises(ValueError, match="deferred_in_try"):
        TaskOutcome.from_event({"status": "success", "wanxiang_task_id": "t", "deferred_in_try": "1"})
