"""The typed report and the XCom JSON users read: the shape is a contract, pinned here key by key."""

from __future__ import annotations

from airflow_provider_wanxiang.client import ImageResult, Task, TaskStatus
from airflow_provider_wanxiang.copying import (
    CopyAction,
    CopyReport,
    CopyResult,
    DestinationError,
    ImageOutcome,
    ImageReport,
    ResultExpiredError,
)


def test_outcomes_keep_their_strings() -> None:
    assert [o.value for o in ImageOutcome] == ["written", "replaced", "kept", "failed_remote", "copy_error"]
    assert {o for o in ImageOutcome if o.in_place} == {
        ImageOutcome.WRITTEN,
        ImageOutcome.REPLACED,
        ImageOutcome.KEPT,
    }
    assert all(ImageOutcome.of(action).value == action.value for action in CopyAction)


def test_the_xcom_json_shape() -> None:
    task = Task(
        task_id="t-1",
        status=TaskStatus.SUCCEEDED,
        results=(
            ImageResult(index=0, url="https://r/0.png?Signature=s"),
            ImageResult(index=1, url="https://r/1.png?Signature=s"),
            ImageResult(index=2, code="DataInspectionFailed", message="inappropriate"),
            ImageResult(index=3, url="https://r/3.png?Signature=s"),
        ),
    )
    sidecar_error = DestinationError("completing b/0.json failed: OSError: disk full")
    expired = ResultExpiredError("the result server r answered 403", http_status=403, code="AccessDenied")
    written = ImageReport.copied(
        0, "s3://b/0.png", CopyResult(CopyAction.WRITTEN, 10, 4, 5, 1), sidecar_requested=True
    )
    images = [
        ImageReport(**{**_fields(written), "sidecar_error": sidecar_error}),
        ImageReport.copied(
            1, "s3://b/1.png", CopyResult(CopyAction.KEPT, 11, 6, 7, 1), sidecar_requested=False
        ),
        ImageReport.not_copied(3, "s3://b/3.png", expired),
    ]

    report = CopyReport.of(task, "s3://b", images)

    assert report.to_xcom() == {
        "wanxiang_task_id": "t-1",
        "task_status": "SUCCEEDED",
        "destination": "s3://b",
        "images_total": 4,
        "written": 1,
        "replaced": 0,
        "kept": 1,
        "failed_remote": 1,
        "copy_errors": 1,
        "images": [
            {
                "index": 0,
                "outcome": "written",
                "uri": "s3://b/0.png",
                "bytes": 10,
                "width": 4,
                "height": 5,
                "sidecar_uri": None,
                "sidecar_error": "completing b/0.json failed: OSError: disk full",
            },
            {"index": 1, "outcome": "kept", "uri": "s3://b/1.png", "bytes": 11, "width": 6, "height": 7},
            {
                "index": 2,
                "outcome": "failed_remote",
                "code": "DataInspectionFailed",
                "message": "inappropriate",
            },
            {
                "index": 3,
                "outcome": "copy_error",
                "uri": "s3://b/3.png",
                "error": "ResultExpiredError",
                "message": "the result server r answered 403",
            },
        ],
    }
    assert report.uris == ["s3://b/0.png", "s3://b/1.png"]
    assert report.errors == [(0, sidecar_error), (3, expired)]
    assert (
        "1 written, 0 replaced, 1 already in place, 1 failed remotely, 1 not copied" in report.summary_line()
    )
    assert "Signature" not in repr(report.to_xcom())


def _fields(report: ImageReport) -> dict[str, object]:
    return {name: getattr(report, name) for name in ImageReport.__dataclass_fields__}
