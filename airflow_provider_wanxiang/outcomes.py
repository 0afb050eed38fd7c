"""How a wait ends: one small, validated contract shared by the trigger, the sensor and the operator.

A wait ends in exactly one :class:`TaskOutcome`. The trigger sends it as its event payload; the worker-side
polling loop builds the same object; ``execute_complete`` turns it back into a return value or a specific
exception. Keeping the contract here (and free of Airflow) means the deferrable and the polling paths cannot
drift apart, and the payload can be checked on its own.

Payloads carry ids, counts and codes only: never result URLs (signed, capability-bearing, and logged by the
triggerer at info level) and never the API key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from airflow_provider_wanxiang.client import Task, TaskStatus


class OutcomeStatus(str, Enum):
    """Why the wait ended."""

    SUCCESS = "success"  #: the remote task SUCCEEDED (possibly with some failed images)
    FAILED = "failed"  #: the remote task FAILED
    CANCELED = "canceled"  #: the remote task was CANCELED
    UNKNOWN = "unknown"  #: the task id expired (24 h) or is not visible to this key/workspace
    TIMEOUT = "timeout"  #: our own deadline passed before a terminal state
    ERROR = "error"  #: polling gave up (error budget exhausted, or a non-retryable API error)


_BY_TASK_STATUS = {
    TaskStatus.SUCCEEDED: OutcomeStatus.SUCCESS,
    TaskStatus.FAILED: OutcomeStatus.FAILED,
    TaskStatus.CANCELED: OutcomeStatus.CANCELED,
    TaskStatus.UNKNOWN: OutcomeStatus.UNKNOWN,
}


def summarize(task: Task) -> dict[str, Any]:
    """A small, URL-free description of a task for XCom and events."""
    metrics = task.metrics
    return {
        "wanxiang_task_id": task.task_id,
        "task_status": task.status.value,
        "images_total": metrics.total if metrics else len(task.results),
        "images_succeeded": metrics.succeeded if metrics else len(task.succeeded_images),
        "images_failed": metrics.failed if metrics else len(task.failed_images),
        "image_count": task.usage.image_count if task.usage else 0,
        "failed_images": [
            {"index": image.index, "code": image.code, "message": image.message}
            for image in task.failed_images
        ],
        "code": task.code,
        "submit_time": task.submit_time.isoformat() if task.submit_time else None,
        "end_time": task.end_time.isoformat() if task.end_time else None,
    }


@dataclass(frozen=True)
class TaskOutcome:
    """The single terminal result of waiting on one remote task."""

    status: OutcomeStatus
    wanxiang_task_id: str
    message: str
    code: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    #: The Airflow try that deferred (echoed by the trigger), to recognise an event replayed into a retry.
    deferred_in_try: int | None = None

    def to_event(self) -> dict[str, Any]:
        """Serialise to a trigger-event payload (plain JSON types only)."""
        return {
            "status": self.status.value,
            "wanxiang_task_id": self.wanxiang_task_id,
            "message": self.message,
            "code": self.code,
            "summary": self.summary,
            "deferred_in_try": self.deferred_in_try,
        }

    @classmethod
    def from_event(cls, event: Any) -> TaskOutcome:
        """Validate and parse an event payload.

        :raises ValueError: when the payload is missing, not a dict, or has an unknown status; resuming on a
            malformed event must fail loudly rather than report success.
        """
        if not isinstance(event, dict):
            raise ValueError(f"Wanxiang trigger event must be a dict, got {type(event).__name__}: {event!r}")
        try:
            status = OutcomeStatus(event["status"])
            task_id = event["wanxiang_task_id"]
        except (KeyError, ValueError) as err:
            raise ValueError(f"Malformed Wanxiang trigger event {event!r}: {err}") from None
        if not isinstance(task_id, str) or not task_id:
            raise ValueError(f"Malformed Wanxiang trigger event {event!r}: empty wanxiang_task_id")
        summary = event.get("summary")
        summary = {} if summary is None else summary
        if not isinstance(summary, dict):
            raise ValueError(f"Malformed Wanxiang trigger event {event!r}: summary must be a dict")
        deferred_in_try = event.get("deferred_in_try")
        if deferred_in_try is not None and not isinstance(deferred_in_try, int):
            raise ValueError(f"Malformed Wanxiang trigger event {event!r}: deferred_in_try must be an int")
        return cls(
            status=status,
            wanxiang_task_id=task_id,
            message=str(event.get("message") or ""),
            code=event.get("code"),
            summary=summary,
            deferred_in_try=deferred_in_try,
        )


def outcome_from_task(task: Task) -> TaskOutcome | None:
    """The outcome a terminal task represents, or ``None`` while it is still PENDING/RUNNING."""
    status = _BY_TASK_STATUS.get(task.status)
    if status is None:
        return None
    summary = summarize(task)
    if status is OutcomeStatus.SUCCESS:
        message = (
            f"Task {task.task_id} succeeded: {summary['images_succeeded']} of {summary['images_total']} "
            "image(s) produced."
        )
    elif status is OutcomeStatus.FAILED:
        message = f"Task {task.task_id} failed: {task.code}: {task.message}"
    elif status is OutcomeStatus.CANCELED:
        message = f"Task {task.task_id} was canceled."
    else:
        message = (
            f"Task {task.task_id} is UNKNOWN: the id expired (task ids live 24 h) or is not visible to this "
            "API key/workspace."
        )
    return TaskOutcome(
        status=status, wanxiang_task_id=task.task_id, message=message, code=task.code, summary=summary
    )
