"""What can go wrong copying one result image: part of the client's error tree, not a third family.

Every copy error is a :class:`~airflow_provider_wanxiang.client.errors.WanxiangError` with the same
``retryable``, ``http_status``, ``code`` and ``retry_after`` fields, so the one
:class:`~airflow_provider_wanxiang.client.retry.RetryPolicy` decides downloads exactly as it decides API
calls. What the result server did (expired, missing, throttled, cut short, sent bad bytes) is also a
:class:`~airflow_provider_wanxiang.client.errors.WanxiangRemoteError`; a destination that already holds a
different object under a forbidding policy is a
:class:`~airflow_provider_wanxiang.client.errors.WanxiangLocalError` (fix the DAG). A failing destination
store is neither: it is only a :class:`CopyError`.

These are per-image errors. The Airflow task sees them translated, in one place
(:func:`airflow_provider_wanxiang.exceptions.raise_for_copy_report`), into ``WanxiangCopyError`` or
``WanxiangResultsExpiredError``, which carry the report and keep the first image error as ``__cause__``.
Messages never contain the signed result URL (a capability): they name only the result host.
"""

from __future__ import annotations

from airflow_provider_wanxiang.client.errors import WanxiangError, WanxiangLocalError, WanxiangRemoteError

__all__ = [
    "CopyError",
    "DestinationError",
    "DestinationExistsError",
    "DownloadError",
    "IntegrityError",
    "ResultExpiredError",
    "ResultNotFoundError",
]


class CopyError(WanxiangError):
    """Copying one image failed; nothing was left at the destination.

    ``retryable`` says whether trying the same copy again soon may succeed (network drops, 429/5xx, a body
    cut short); expired or missing results, bad content and destination conflicts are not. ``http_status``
    is the result URL's HTTP status and ``code`` the storage server's error code (OSS/S3 XML ``<Code>``),
    when there were any.
    """

    def __str__(self) -> str:
        # The message already names status and code in words; the client's "[code] ... (HTTP n)" form
        # would say them twice.
        return self.message


class ResultExpiredError(CopyError, WanxiangRemoteError):
    """The signed result URL answered 403: it expired (24 h after the task ended) or was tampered with.

    The images are gone from the service; the only fix is to run the edit again.
    """


class ResultNotFoundError(CopyError, WanxiangRemoteError):
    """The result URL answered 404 or 410: the service no longer holds the image."""


class DownloadError(CopyError, WanxiangRemoteError):
    """The result could not be read: connection failure, timeout, throttling, a 5xx answer, or the image's
    total deadline (``download_deadline``) passed."""

    default_retryable = True


class IntegrityError(CopyError, WanxiangRemoteError):
    """The bytes received are not a complete PNG, or not the announced number of bytes (or MD5)."""


class DestinationError(CopyError):
    """Writing to the destination failed (the partial upload or temp file was cleaned up)."""


class DestinationExistsError(CopyError, WanxiangLocalError):
    """A different object already sits at the destination and the ``overwrite`` policy forbids replacing
    it: nothing was downloaded; change the policy or the name."""
