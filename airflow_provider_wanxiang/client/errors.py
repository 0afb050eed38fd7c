"""The error tree of the Wanxiang client: what went wrong on our side, and what the other side did.

As h11 splits ``LocalProtocolError`` from ``RemoteProtocolError``, :class:`WanxiangLocalError` (we were
about to send something wrong: a field, the configuration) stands apart from :class:`WanxiangRemoteError`
(the server, a gateway, a proxy or the network answered badly or not at all). Which class a server answer
becomes is decided by the table in :mod:`airflow_provider_wanxiang.client.error_codes`.

Every error carries ``retryable``: whether sending the *same request* again may succeed. Whether a retry is
actually *safe* also depends on the request (a create may already have been enqueued); that decision lives
in :mod:`airflow_provider_wanxiang.client.retry`.

Nothing here ever stores headers or the API key, so ``str()``/``repr()`` of an error are safe to log.
"""

from __future__ import annotations

from typing import Any, ClassVar

# shorten, server_text and parse_retry_after are not errors; they live in their own modules and stay
# importable from here (their earlier home) for callers that import them from this module.
from airflow_provider_wanxiang.client._headers import parse_retry_after
from airflow_provider_wanxiang.client._text import server_text, shorten

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ContentModerationError",
    "DeadlineExceededError",
    "MalformedResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseTooLargeError",
    "ServerError",
    "TransportError",
    "UnsupportedOperationError",
    "WanxiangError",
    "WanxiangLocalError",
    "WanxiangRemoteError",
    "WanxiangValidationError",
    "WanxiangWarning",
    "parse_retry_after",
    "server_text",
    "shorten",
]


class WanxiangError(Exception):
    """Base class of every error raised by the Wanxiang client.

    :param message: Human-readable explanation (the server's ``message`` when there is one).
    :param code: The server's error ``code`` (e.g. ``InvalidApiKey``); ``None`` for client-side errors.
    :param request_id: The server's request id, to quote to Alibaba Cloud support.
    :param http_status: The HTTP status of the response, when there was one.
    :param retryable: Whether sending the same request again may succeed; defaults per class.
    :param retry_after: Seconds the server asked us to wait (``Retry-After``), if it said.
    """

    default_retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        request_id: str | None = None,
        http_status: int | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.request_id = request_id
        self.http_status = http_status
        self.retryable = self.default_retryable if retryable is None else retryable
        self.retry_after = retry_after

    def __str__(self) -> str:
        head = f"[{self.code}] {self.message}" if self.code else self.message
        details = []
        if self.http_status is not None:
            details.append(f"HTTP {self.http_status}")
        if self.request_id:
            details.append(f"request_id={self.request_id}")
        return f"{head} ({', '.join(details)})" if details else head

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, "
            f"request_id={self.request_id!r}, http_status={self.http_status!r}, retryable={self.retryable!r})"
        )

    def _state(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "request_id": self.request_id,
            "http_status": self.http_status,
            "retryable": self.retryable,
            "retry_after": self.retry_after,
        }

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructors break Exception's default pickling, and errors do cross process
        # boundaries (e.g. a failed task's exception sent back by an executor).
        return (_rebuild_error, (type(self), self.message, self._state()))


def _rebuild_error(cls: type[WanxiangError], message: str, state: dict[str, Any]) -> WanxiangError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.message = message
    for name, value in state.items():
        setattr(error, name, value)
    return error


class WanxiangLocalError(WanxiangError):
    """We got something wrong before (or instead of) talking to the server: a request field or the client's
    configuration failed a check, so nothing was sent and nothing was paid for.

    The split mirrors h11's ``LocalProtocolError``/``RemoteProtocolError``: a local error is fixed in the DAG
    or the connection, and retrying the same call cannot help.
    """


class WanxiangRemoteError(WanxiangError):
    """The other side answered badly or not at all: a server error code, an HTTP status, a transport failure
    or an answer we cannot use. ``retryable`` says whether the same request may succeed later."""


class WanxiangValidationError(WanxiangLocalError, ValueError):
    """A request field failed client-side validation, so nothing was sent (and nothing was paid for).

    :param field: The field, with its position for list items (``images[1]``).
    :param value: The offending value, shortened so a 10 MB data URI never lands in a log.
    :param limit: The rule it broke, in words (``"384-5000 px per side"``).
    :param problem: What is wrong, naming value and limit; the message is ``"{field}: {problem}"``.
    """

    def __init__(self, field: str, value: object, limit: str, problem: str | None = None) -> None:
        shown = shorten(value)
        self.field = field
        self.value: object = shown if isinstance(value, (str, bytes, bytearray, memoryview)) else value
        self.limit = limit
        super().__init__(f"{field}: {problem or f'{shown} is not allowed (allowed: {limit})'}")

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "field": self.field, "value": self.value, "limit": self.limit}


class WanxiangWarning(UserWarning):
    """Something the server accepts but will change (e.g. truncate a long prompt): worth a log line."""


class AuthenticationError(WanxiangRemoteError):
    """401: the API key is missing, wrong, or belongs to another region than the endpoint."""


class PermissionDeniedError(WanxiangRemoteError):
    """403: the key is valid but may not do this (model not activated, workspace rights, arrears)."""


class BadRequestError(WanxiangRemoteError):
    """400: the server rejected the request itself; sending it again will not help."""


class ContentModerationError(BadRequestError):
    """The input was rejected by content moderation (``DataInspectionFailed``, ``IPInfringementSuspect``)."""


class UnsupportedOperationError(BadRequestError):
    """The operation does not apply in the task's state, e.g. cancelling a task that is no longer PENDING."""


class NotFoundError(WanxiangRemoteError):
    """404: unknown model or workspace (an unknown *task id* is not a 404: it comes back as UNKNOWN)."""


class RateLimitError(WanxiangRemoteError):
    """429: throttled. Retryable, except for quota and billing states that waiting does not clear."""

    default_retryable = True


class ServerError(WanxiangRemoteError):
    """5xx (or a server-side timeout): the service failed; the same request may succeed later."""

    default_retryable = True


class TransportError(WanxiangRemoteError):
    """No usable HTTP answer: connection refused, DNS, timeout, dropped connection or a non-JSON body.

    :param request_sent: Whether the request may have reached the server. ``False`` only when we know it
        did not (the connection was never established), which is what makes retrying a create safe.
    """

    default_retryable = True

    def __init__(
        self,
        message: str,
        *,
        request_sent: bool,
        retryable: bool | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message, retryable=retryable, http_status=http_status)
        self.request_sent = request_sent

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "request_sent": self.request_sent}


class MalformedResponseError(TransportError):
    """A 2xx answer that is not the JSON shape the API documents (e.g. a proxy's HTML page)."""

    def __init__(self, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message, request_sent=True, http_status=http_status)


class ResponseTooLargeError(MalformedResponseError):
    """The answer's body (decoded, e.g. after gzip) is larger than any real API answer.

    Raised while reading, after at most ``limits.MAX_RESPONSE_BYTES`` decoded bytes, so a 50 MB body or a
    gzip bomb costs a bounded amount of memory. Not retryable: the same server would send it again.
    """

    default_retryable = False

    def __init__(self, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message, http_status=http_status)
        self.retryable = False


class DeadlineExceededError(TransportError):
    """One request (connect, send, headers and the whole body) did not complete within its total deadline.

    Per-read timeouts never trip on a server that sends one byte a second; this bounds the whole exchange.
    Retryable like any read timeout (the request may have been processed), within the retry policy.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, request_sent=True)
