"""Exceptions raised to Airflow when waiting on a Wanxiang task ends badly, one per outcome.

They are chosen from the outcome's status, never from message text, so a DAG author can catch exactly the
case they care about (for example retry on :class:`WanxiangTaskFailedError` whose ``code`` is an
``InternalError``, but not on content moderation).
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, AirflowSensorTimeout

from airflow_provider_wanxiang.client import is_retryable_by_resubmit
from airflow_provider_wanxiang.outcomes import OutcomeStatus, TaskOutcome


class WanxiangTaskError(AirflowException):
    """Base class: waiting on remote task ``wanxiang_task_id`` did not end in success."""

    def __init__(
        self,
        message: str,
        *,
        wanxiang_task_id: str,
        code: str | None = None,
        summary: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.wanxiang_task_id = wanxiang_task_id
        self.code = code
        self.summary = summary or {}


class WanxiangTaskFailedError(WanxiangTaskError):
    """The remote task ended FAILED; ``code``/``message`` are the server's.

    Raised as is only when submitting the same edit again may succeed (``InternalError``, timeouts,
    capacity), so Airflow's retries are spent where they can help; see the subclasses for the rest.
    """


class WanxiangTaskRejectedError(WanxiangTaskFailedError, AirflowFailException):
    """The remote task FAILED for a reason resubmitting cannot fix (invalid parameter, content moderation,
    IP infringement, an unclassified code): the Airflow task fails at once, without retries, because each
    retry would pay for a new edit that must fail the same way. Still a :class:`WanxiangTaskFailedError`."""


class WanxiangSensorTaskFailedError(WanxiangTaskFailedError, AirflowFailException):
    """The task a sensor watches FAILED (with a code a resubmission may fix): the sensor fails without
    retries, because a sensor retry would only read the same FAILED task. Re-run the submitting task."""


class WanxiangTaskCanceledError(WanxiangTaskError):
    """The remote task was CANCELED (by us on kill/timeout, or by anyone under the same account)."""


class WanxiangTaskUnknownError(WanxiangTaskError):
    """The task id is UNKNOWN: expired (ids live 24 h) or not visible to this API key/workspace."""


class WanxiangTaskTimeoutError(WanxiangTaskError):
    """Our own deadline passed before the remote task finished (a PENDING task is canceled first)."""


class WanxiangSensorTimeout(WanxiangTaskTimeoutError, AirflowSensorTimeout):
    """A sensor's timeout: like every sensor timeout it fails the task without retries."""


class WanxiangPartialFailureError(WanxiangTaskError):
    """The task SUCCEEDED but some images failed, and the caller asked for all-or-nothing."""


class WanxiangPollingError(WanxiangTaskError):
    """Polling gave up: the transient-error budget ran out, or the API answered with a non-retryable error.

    The remote task may still be running; a retry of the Airflow task re-attaches to it.
    """


# -- copying results ---------------------------------------------------------------------------------
class WanxiangResultsUnavailableError(WanxiangTaskError, AirflowFailException):
    """The task has no results that can still be copied: it is UNKNOWN (expired or invisible to this key),
    FAILED or CANCELED. Retrying the copy cannot help (so Airflow does not retry it): re-run the edit."""


class WanxiangResultsExpiredError(WanxiangResultsUnavailableError):
    """The result URLs answered 403/404: they expired (24 h after the task ended). Re-run the edit.

    Images copied before they expired are kept and listed in the report.
    """


class WanxiangTaskNotFinishedError(WanxiangTaskError):
    """The task is still PENDING/RUNNING: wait for it first (a retry of the copy may find it done)."""


class WanxiangCopyError(WanxiangTaskError):
    """Some images could not be copied (network, destination). Nothing partial was left; a retry copies only
    what is missing."""


class WanxiangImagesFailedError(WanxiangPartialFailureError, AirflowFailException):
    """Some images failed remotely (``fail_on_image_failure=True``); every image that succeeded was copied.

    Not retried: the service will not produce the missing images for this task.
    """


_EXCEPTION_BY_STATUS: dict[OutcomeStatus, type[WanxiangTaskError]] = {
    OutcomeStatus.FAILED: WanxiangTaskFailedError,
    OutcomeStatus.CANCELED: WanxiangTaskCanceledError,
    OutcomeStatus.UNKNOWN: WanxiangTaskUnknownError,
    OutcomeStatus.TIMEOUT: WanxiangTaskTimeoutError,
    OutcomeStatus.ERROR: WanxiangPollingError,
}


def raise_for_outcome(
    outcome: TaskOutcome,
    *,
    require_all_images: bool = False,
    timeout_error: type[WanxiangTaskError] = WanxiangTaskTimeoutError,
    failed_error: type[WanxiangTaskFailedError] = WanxiangTaskFailedError,
) -> dict[str, Any]:
    """Return the URL-free summary of a successful outcome, or raise the exception for its status.

    A FAILED task whose code resubmitting cannot fix (:func:`is_retryable_by_resubmit`) raises
    :class:`WanxiangTaskRejectedError`, which Airflow does not retry; other FAILED tasks raise
    ``failed_error``.

    :param require_all_images: treat a SUCCEEDED task with any failed image as a failure
        (:class:`WanxiangPartialFailureError`); by default a partial success succeeds, like the API.
    :param timeout_error: the class for the timeout outcome (sensors use :class:`WanxiangSensorTimeout`).
    :param failed_error: the class for a FAILED task a resubmission may fix (sensors use
        :class:`WanxiangSensorTaskFailedError`: they never resubmit).
    """
    if outcome.status is OutcomeStatus.SUCCESS:
        failed = int(outcome.summary.get("images_failed") or 0)
        if require_all_images and failed:
            codes = sorted({str(image.get("code")) for image in outcome.summary.get("failed_images", [])})
            total = outcome.summary.get("images_total")
            raise WanxiangPartialFailureError(
                f"Task {outcome.wanxiang_task_id}: {failed} of {total} image(s) failed "
                f"({', '.join(codes)}) and require_all_images=True.",
                wanxiang_task_id=outcome.wanxiang_task_id,
                code=outcome.code,
                summary=outcome.summary,
            )
        return outcome.summary
    message = outcome.message
    exception: type[WanxiangTaskError]
    if outcome.status is OutcomeStatus.TIMEOUT:
        exception = timeout_error
    elif outcome.status is OutcomeStatus.FAILED and not is_retryable_by_resubmit(outcome.code):
        exception = WanxiangTaskRejectedError
        message = f"{message} Resubmitting cannot fix this, so the task is not retried."
    elif outcome.status is OutcomeStatus.FAILED:
        exception = failed_error
    else:
        exception = _EXCEPTION_BY_STATUS[outcome.status]
    raise exception(
        message, wanxiang_task_id=outcome.wanxiang_task_id, code=outcome.code, summary=outcome.summary
    )
