"""The wait-outcome contract: event validation and the exception chosen for each outcome."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_wanxiang.exceptions import (
    WanxiangPartialFailureError,
    WanxiangPollingError,
    WanxiangSensorTaskFailedError,
    WanxiangSensorTimeout,
    WanxiangTaskCanceledError,
    WanxiangTaskFailedError,
    WanxiangTaskRejectedError,
    WanxiangTaskTimeoutError,
    WanxiangTaskUnknownError,
    raise_for_outcome,
)
from airflow_provider_wanxiang.outcomes import OutcomeStatus, TaskOutcome


def _outcome(status: str, code: str | None = "X", **summary: Any) -> TaskOutcome:
    return TaskOutcome.from_event(
        {
            "status": status,
            "wanxiang_task_id": "t-1",
            "message": f"it was {status}",
            "code": code,
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
        ("failed", WanxiangTaskRejectedError),  # code "X" is no reason to resubmit
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


@pytest.mark.parametrize(
    "code", ["InvalidParameter", "DataInspectionFailed", "IPInfringementSuspect", "SomethingNew", None]
)
def test_failure_resubmitting_cannot_fix_is_not_retried(code: str | None) -> None:
    from airflow.providers.common.compat.sdk import AirflowFailException

    with pytest.raises(WanxiangTaskRejectedError, match="Resubmitting cannot fix this") as info:
        raise_for_outcome(_outcome("failed", code=code))
    # Airflow fails the task without retries, and existing handlers of the failed error still catch it.
    assert isinstance(info.value, AirflowFailException)
    assert isinstance(info.value, WanxiangTaskFailedError)
    assert info.value.code == code
    with pytest.raises(WanxiangTaskRejectedError):  # the sensor's class never overrides the code's verdict
        raise_for_outcome(_outcome("failed", code=code), failed_error=WanxiangSensorTaskFailedError)


@pytest.mark.parametrize(
    "code", ["InternalError", "InternalError.Algo", "InternalError.Timeout", "Throttling", "GatewayTimeout"]
)
def test_transient_failure_stays_retryable(code: str) -> None:
    from airflow.providers.common.compat.sdk import AirflowFailException

    with pytest.raises(WanxiangTaskFailedError) as info:
        raise_for_outcome(_outcome("failed", code=code))
    assert type(info.value) is WanxiangTaskFailedError
    assert not isinstance(info.value, AirflowFailException)
    # A sensor never resubmits, so even a transient failure is final for it.
    with pytest.raises(WanxiangSensorTaskFailedError) as sensor_info:
        raise_for_outcome(_outcome("failed", code=code), failed_error=WanxiangSensorTaskFailedError)
    assert isinstance(sensor_info.value, AirflowFailException)
    assert isinstance(sensor_info.value, WanxiangTaskFailedError)


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


def test_deferred_in_try_must_be_an_int() -> None:
    with pytest.raises(ValueError, match="deferred_in_try"):
        TaskOutcome.from_event({"status": "success", "wanxiang_task_id": "t", "deferred_in_try": "1"})
