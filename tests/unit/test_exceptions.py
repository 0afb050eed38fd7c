"""The two exception trees and the one place that picks the Airflow-facing exception of a copy."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_wanxiang import client
from airflow_provider_wanxiang.client import ImageResult, Task, TaskStatus
from airflow_provider_wanxiang.copying import (
    CopyAction,
    CopyReport,
    CopyResult,
    DownloadError,
    ImageReport,
    ResultExpiredError,
    ResultNotFoundError,
)
from airflow_provider_wanxiang.exceptions import (
    WanxiangConnectionError,
    WanxiangCopyError,
    WanxiangImagesFailedError,
    WanxiangResultsExpiredError,
    WanxiangResultsUnavailableError,
    WanxiangTaskError,
    WanxiangTaskNotFinishedError,
    raise_for_copy_report,
    raise_for_uncopyable,
)
from airflow_provider_wanxiang.hooks import wanxiang as hook_module

REMOTE = [
    client.AuthenticationError,
    client.PermissionDeniedError,
    client.BadRequestError,
    client.ContentModerationError,
    client.UnsupportedOperationError,
    client.NotFoundError,
    client.RateLimitError,
    client.ServerError,
    client.TransportError,
    client.MalformedResponseError,
    client.ResponseTooLargeError,
    client.DeadlineExceededError,
]


@pytest.mark.parametrize("cls", REMOTE)
def test_server_and_transport_errors_are_remote(cls: type[client.WanxiangError]) -> None:
    assert issubclass(cls, client.WanxiangRemoteError) and not issubclass(cls, client.WanxiangLocalError)


def test_validation_is_local_and_still_a_value_error() -> None:
    assert issubclass(client.WanxiangValidationError, client.WanxiangLocalError)
    assert issubclass(client.WanxiangValidationError, ValueError)
    assert not issubclass(client.WanxiangValidationError, client.WanxiangRemoteError)


def test_an_unclassified_status_is_still_remote() -> None:
    error = client.error_from_response(302, None, {"Location": "https://elsewhere/"})
    assert isinstance(error, client.WanxiangRemoteError) and "redirected" in str(error)


def test_the_connection_error_joined_the_airflow_tree_and_stays_a_value_error() -> None:
    assert hook_module.WanxiangConnectionError is WanxiangConnectionError
    assert issubclass(WanxiangConnectionError, ValueError) and issubclass(
        WanxiangConnectionError, AirflowException
    )
    assert not issubclass(WanxiangConnectionError, AirflowFailException)


def task(status: TaskStatus, *results: ImageResult, code: str | None = None) -> Task:
    return Task(task_id="t-1", status=status, results=results, code=code, message="why" if code else None)


OK = ImageResult(index=0, url="https://r/0.png?Signature=s")
MODERATED = ImageResult(index=1, code="DataInspectionFailed", message="inappropriate")


@pytest.mark.parametrize(
    ("status", "exception", "fails_without_retry"),
    [
        (TaskStatus.PENDING, WanxiangTaskNotFinishedError, False),
        (TaskStatus.RUNNING, WanxiangTaskNotFinishedError, False),
        (TaskStatus.UNKNOWN, WanxiangResultsUnavailableError, True),
        (TaskStatus.FAILED, WanxiangResultsUnavailableError, True),
        (TaskStatus.CANCELED, WanxiangResultsUnavailableError, True),
    ],
)
def test_uncopyable_tasks(
    status: TaskStatus, exception: type[WanxiangTaskError], fails_without_retry: bool
) -> None:
    with pytest.raises(exception) as caught:
        raise_for_uncopyable(task(status, code="InternalError" if status is TaskStatus.FAILED else None))
    assert isinstance(caught.value, AirflowFailException) is fails_without_retry
    assert caught.value.wanxiang_task_id == "t-1" and caught.value.summary["task_status"] == status.value
    raise_for_uncopyable(task(TaskStatus.SUCCEEDED, OK))  # nothing to raise


def written(index: int) -> ImageReport:
    return ImageReport.copied(
        index, f"s3://b/{index}.png", CopyResult(CopyAction.WRITTEN, 1, 1, 1, 1), sidecar_requested=False
    )


def test_a_clean_copy_raises_nothing_and_partial_results_only_when_asked() -> None:
    finished = task(TaskStatus.SUCCEEDED, OK, MODERATED)
    report = CopyReport.of(finished, "s3://b", [written(0)])
    raise_for_copy_report(report, fail_on_image_failure=False)
    with pytest.raises(
        WanxiangImagesFailedError, match=r"1 of 2 image\(s\) failed remotely \(DataInspectionFailed\)"
    ):
        raise_for_copy_report(report, fail_on_image_failure=True)


def test_only_expired_results_raise_the_expired_error_with_the_first_as_cause() -> None:
    two = task(TaskStatus.SUCCEEDED, OK, ImageResult(index=1, url="https://r/1.png?Signature=s"))
    expired = ResultExpiredError("403", http_status=403, code="AccessDenied")
    gone = ResultNotFoundError("404", http_status=404)
    report = CopyReport.of(
        two,
        "s3://b",
        [ImageReport.not_copied(0, "s3://b/0.png", expired), ImageReport.not_copied(1, "u", gone)],
    )
    with pytest.raises(WanxiangResultsExpiredError) as caught:
        raise_for_copy_report(report, fail_on_image_failure=True)
    assert caught.value.__cause__ is expired and caught.value.code == "AccessDenied"
    assert caught.value.summary == report.to_xcom()
    assert isinstance(caught.value, AirflowFailException)


def test_any_other_copy_error_raises_the_retried_copy_error_listing_each_image() -> None:
    two = task(TaskStatus.SUCCEEDED, OK, ImageResult(index=1, url="https://r/1.png?Signature=s"))
    expired = ResultExpiredError("403", http_status=403)
    broken = DownloadError("cut short")
    report = CopyReport.of(
        two, "s3://b", [ImageReport.not_copied(0, "a", expired), ImageReport.not_copied(1, "b", broken)]
    )
    with pytest.raises(
        WanxiangCopyError, match=r"2 image\(s\) were not copied \(image 0: 403; image 1: cut short\)"
    ) as caught:
        raise_for_copy_report(report, fail_on_image_failure=False)
    assert caught.value.errors == ((0, expired), (1, broken)) and caught.value.__cause__ is expired
    assert not isinstance(caught.value, AirflowFailException)
