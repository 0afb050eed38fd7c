"""The exceptions a DAG sees, and the one place where what happened becomes one of them.

Two trees, as h11 keeps its protocol errors apart from what its users see:

- the wire tree (:mod:`airflow_provider_wanxiang.client.errors`, free of Airflow): ``WanxiangError`` with
  ``WanxiangLocalError`` (we got something wrong, nothing was sent: ``WanxiangValidationError``) and
  ``WanxiangRemoteError`` (the server or the network did: the server-code classes, ``TransportError``),
  plus the per-image copy errors (:mod:`airflow_provider_wanxiang.copying.errors`). A wire error raised by
  an API call the operator makes itself (create, get) reaches Airflow as it is.
- the Airflow-facing tree here: :class:`WanxiangTaskError` and one subclass per way a wait or a copy ends
  badly, plus :class:`WanxiangConnectionError` for a broken ``wanxiang`` connection.

They are chosen from the outcome's status (never from message text) by :func:`raise_for_outcome` (waits),
:func:`raise_for_uncopyable` and :func:`raise_for_copy_report` (copies), so a DAG author can catch exactly
the case they care about (for example retry on :class:`WanxiangTaskFailedError` whose ``code`` is an
``InternalError``, but not on content moderation). Classes that also derive from ``AirflowFailException``
fail the task without Airflow retries. The map for DAG authors is in the docs ("Exceptions").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, AirflowSensorTimeout

from airflow_provider_wanxiang.client import Task, TaskStatus, is_retryable_by_resubmit
from airflow_provider_wanxiang.copying.errors import ResultExpiredError, ResultNotFoundError
from airflow_provider_wanxiang.copying.report import ImageOutcome
from airflow_provider_wanxiang.outcomes import OutcomeStatus, TaskOutcome, summarize

if TYPE_CHECKING:
    from airflow_provider_wanxiang.copying.report import CopyReport

__all__ = [
    "WanxiangBatchError",
    "WanxiangConnectionError",
    "WanxiangCopyError",
    "WanxiangImagesFailedError",
    "WanxiangPartialFailureError",
    "WanxiangPollingError",
    "WanxiangResultsExpiredError",
    "WanxiangResultsUnavailableError",
    "WanxiangSensorTaskFailedError",
    "WanxiangSensorTimeout",
    "WanxiangTaskCanceledError",
    "WanxiangTaskError",
    "WanxiangTaskFailedError",
    "WanxiangTaskNotFinishedError",
    "WanxiangTaskRejectedError",
    "WanxiangTaskTimeoutError",
    "WanxiangTaskUnknownError",
    "raise_for_copy_report",
    "raise_for_outcome",
    "raise_for_uncopyable",
]


class WanxiangConnectionError(AirflowException, ValueError):
    """The ``wanxiang`` connection is incomplete or malformed (raised before any network call).

    Still a ``ValueError`` (what it was before it joined this tree), so existing ``except ValueError``
    handlers keep catching it. Importable from :mod:`airflow_provider_wanxiang.hooks.wanxiang` too.
    """


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
    what is missing.

    ``errors`` holds each image's copy error (``(index, error)``, see
    :mod:`airflow_provider_wanxiang.copying.errors`); the first is also the ``__cause__``.
    """

    errors: tuple[tuple[int, Exception], ...] = ()


class WanxiangImagesFailedError(WanxiangPartialFailureError, AirflowFailException):
    """Some images failed remotely (``fail_on_image_failure=True``); every image that succeeded was copied.

    Not retried: the service will not produce the missing images for this task.
    """


class WanxiangBatchError(AirflowException):
    """A batch ended with more failed items than allowed (``max_failed``), after every other item was stored
    and reported. ``failed`` maps the failed keys (the first hundred) to their codes; ``summary`` is the
    XCom summary. Retried like any error: a retry re-attaches through the ledger and resubmits only the
    items a new attempt can help (see docs/batch.md)."""

    def __init__(self, message: str, *, failed: dict[str, str], summary: dict[str, Any]) -> None:
        super().__init__(message)
        self.failed = failed
        self.summary = summary


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


_NOT_FINISHED = frozenset({TaskStatus.PENDING, TaskStatus.RUNNING})


def raise_for_uncopyable(task: Task) -> None:
    """Return if ``task`` SUCCEEDED (it has results to copy); otherwise raise what would fix it.

    :raises WanxiangTaskNotFinishedError: PENDING/RUNNING (a retry of the copy may find it done).
    :raises WanxiangResultsUnavailableError: UNKNOWN, FAILED or CANCELED (not retried: re-run the edit).
    """
    task_id = task.task_id
    summary = summarize(task)
    if task.status is TaskStatus.SUCCEEDED:
        return
    if task.status in _NOT_FINISHED:
        raise WanxiangTaskNotFinishedError(
            f"Task {task_id} is still {task.status.value}: wait for it to finish before copying "
            "(WanxiangTaskSensor, or WanxiangSubmitOperator(wait_for_completion=True)).",
            wanxiang_task_id=task_id,
            summary=summary,
        )
    if task.status is TaskStatus.UNKNOWN:
        message = (
            f"Task {task_id} is UNKNOWN: the id expired (task ids and result URLs live 24 h) or is not "
            "visible to this API key/workspace, so its results can no longer be copied. Re-run the edit "
            "(and copy within 24 h), or check the wanxiang connection's key and region."
        )
    elif task.status is TaskStatus.FAILED:
        message = (
            f"Task {task_id} FAILED ({task.code}: {task.message}); it has no results to copy. "
            "Re-run the edit (after fixing the input if the code says so)."
        )
    else:
        message = f"Task {task_id} was CANCELED; it has no results to copy. Re-run the edit."
    raise WanxiangResultsUnavailableError(message, wanxiang_task_id=task_id, code=task.code, summary=summary)


def raise_for_copy_report(report: CopyReport, *, fail_on_image_failure: bool) -> None:
    """Return if the copy succeeded as far as Airflow is concerned; otherwise raise what it means.

    Per-image copy errors come first: all of them expired or missing results →
    :class:`WanxiangResultsExpiredError` (not retried); any other → :class:`WanxiangCopyError` (retried:
    a retry copies only what is missing). Then images that failed remotely, with
    ``fail_on_image_failure`` → :class:`WanxiangImagesFailedError` (not retried). The XCom form of
    ``report`` is the exception's ``summary``.
    """
    task_id = report.wanxiang_task_id
    summary = report.to_xcom()
    errors = report.errors
    if errors:
        details = "; ".join(f"image {index}: {err}" for index, err in errors)
        gone = [err for _, err in errors if isinstance(err, (ResultExpiredError, ResultNotFoundError))]
        if len(gone) == len(errors):
            raise WanxiangResultsExpiredError(
                f"Task {task_id}: {len(gone)} result image(s) can no longer be downloaded — the signed "
                f"URLs expired (they live 24 h after the task ended). Re-run the edit. ({details})",
                wanxiang_task_id=task_id,
                code=gone[0].code,
                summary=summary,
            ) from gone[0]
        error = WanxiangCopyError(
            f"Task {task_id}: {len(errors)} image(s) were not copied ({details}). Nothing partial was "
            "left; a retry copies only what is missing.",
            wanxiang_task_id=task_id,
            summary=summary,
        )
        error.errors = tuple(errors)
        raise error from errors[0][1]
    failed = [image for image in report.images if image.outcome is ImageOutcome.FAILED_REMOTE]
    if failed and fail_on_image_failure:
        codes = ", ".join(sorted({str(image.code) for image in failed}))
        raise WanxiangImagesFailedError(
            f"Task {task_id}: {len(failed)} of {report.images_total} image(s) failed remotely "
            f"({codes}); the {len(report.uris)} that succeeded were copied. Re-run the edit for the missing "
            "ones, or set fail_on_image_failure=False to accept partial results.",
            wanxiang_task_id=task_id,
            code=report.task_code,
            summary=summary,
        )
