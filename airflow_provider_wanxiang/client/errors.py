"""The error tree of the Wanxiang client, keyed on the server's ``code``.

DashScope answers errors with a flat ``{"code", "message", "request_id"}`` envelope. The ``code`` says
much more than the HTTP status (``400`` covers both a typo and a content-moderation rejection; ``429``
covers both a rate limit that clears in a second and an unpaid bill that never will), so
:func:`error_from_response` looks the code up in a table first and falls back to the status only for codes
it does not know.

Every error carries ``retryable``: whether sending the *same request* again may succeed. Whether a retry is
actually *safe* also depends on the request (a create may already have been enqueued); that decision lives
in :mod:`airflow_provider_wanxiang.client.retry`.

Nothing here ever stores headers or the API key, so ``str()``/``repr()`` of an error are safe to log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

# shorten, server_text and parse_retry_after are not errors; they live in their own modules and stay
# importable from here (their earlier home) for callers that import them from this module.
from airflow_provider_wanxiang.client._headers import header, parse_retry_after
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
    "error_from_response",
    "is_retryable_by_resubmit",
    "parse_retry_after",
    "server_text",
    "shorten",
]

_MAX_BODY_CHARS = 300
_MAX_CODE_CHARS = 100


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


@dataclass(frozen=True, slots=True)
class _CodeRule:
    error_class: type[WanxiangError]
    retryable: bool | None = None
    """Overrides the class default; ``None`` keeps it."""
    permanent_if_message_has: tuple[str, ...] = ()
    """Lower-case message fragments that make an otherwise retryable code permanent."""


_BILLING = _CodeRule(RateLimitError, retryable=False)

_CODE_RULES: Mapping[str, _CodeRule] = {
    # 401
    "InvalidApiKey": _CodeRule(AuthenticationError),
    "NOT AUTHORIZED": _CodeRule(AuthenticationError),
    # 403
    "AccessDenied": _CodeRule(PermissionDeniedError),
    "AccessDenied.Unpurchased": _CodeRule(PermissionDeniedError),
    "Model.AccessDenied": _CodeRule(PermissionDeniedError),
    "Workspace.AccessDenied": _CodeRule(PermissionDeniedError),
    "App.AccessDenied": _CodeRule(PermissionDeniedError),
    "AllocationQuota.FreeTierOnly": _CodeRule(PermissionDeniedError),
    "Arrearage": _CodeRule(PermissionDeniedError),
    # 400
    "InvalidParameter": _CodeRule(BadRequestError),
    "InvalidURL": _CodeRule(BadRequestError),
    "InvalidImage": _CodeRule(BadRequestError),
    "BadRequest": _CodeRule(BadRequestError),
    "invalid_request_error": _CodeRule(BadRequestError),
    "DataInspectionFailed": _CodeRule(ContentModerationError),
    "IPInfringementSuspect": _CodeRule(ContentModerationError),
    "UnsupportedOperation": _CodeRule(UnsupportedOperationError),
    # 404
    "ModelNotFound": _CodeRule(NotFoundError),
    "Model.NotExist": _CodeRule(NotFoundError),
    "WorkSpaceNotFound": _CodeRule(NotFoundError),
    # 429: rate limits clear within seconds; quota and billing states do not.
    "Throttling": _CodeRule(RateLimitError),
    "Throttling.RateQuota": _CodeRule(RateLimitError),
    "Throttling.BurstRate": _CodeRule(RateLimitError),
    "LimitRequests": _CodeRule(RateLimitError),
    "limit_requests": _CodeRule(RateLimitError),
    "limit_burst_rate": _CodeRule(RateLimitError),
    "Throttling.AllocationQuota": _CodeRule(
        RateLimitError, permanent_if_message_has=("free allocated quota", "billing")
    ),
    "insufficient_quota": _CodeRule(
        RateLimitError, permanent_if_message_has=("free allocated quota", "billing")
    ),
    "CommodityNotPurchased": _BILLING,
    "PrepaidBillOverdue": _BILLING,
    "PostpaidBillOverdue": _BILLING,
    # 408 / 5xx
    "RequestTimeOut": _CodeRule(ServerError),
    "InternalError": _CodeRule(ServerError),
    "SystemError": _CodeRule(ServerError),
    "ModelServiceFailed": _CodeRule(ServerError),
    "ModelServingError": _CodeRule(ServerError),
    "ModelUnavailable": _CodeRule(ServerError),
    "ServiceUnavailable": _CodeRule(ServerError),
    "GatewayTimeout": _CodeRule(ServerError),
}
"""Server ``code`` → error class. A dotted code not listed (``InternalError.Algo``) uses its family."""

_STATUS_CLASSES: Mapping[int, type[WanxiangError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    407: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    408: ServerError,
    409: BadRequestError,
    413: BadRequestError,
    422: BadRequestError,
    429: RateLimitError,
}


def _rule_for_code(code: str | None) -> _CodeRule | None:
    if not code:
        return None
    if code in _CODE_RULES:
        return _CODE_RULES[code]
    family = code.split(".", 1)[0]
    return _CODE_RULES.get(family)


def _class_for_status(http_status: int) -> type[WanxiangError]:
    if http_status in _STATUS_CLASSES:
        return _STATUS_CLASSES[http_status]
    if http_status >= 500:
        return ServerError
    if 400 <= http_status < 500:
        return BadRequestError
    return WanxiangRemoteError


_RESUBMIT_HELPS: frozenset[str] = frozenset(
    {
        "InternalError",
        "SystemError",
        "ModelServiceFailed",
        "ModelServingError",
        "ModelUnavailable",
        "ServiceUnavailable",
        "GatewayTimeout",
        "RequestTimeOut",
        "Throttling",
        "InvalidURL.Timeout",
        "InvalidParameter.DataInspection",
    }
)
"""Failure codes (or code families) where the same edit submitted again may well succeed."""


def is_retryable_by_resubmit(code: str | None) -> bool:
    """Whether a FAILED task (or a failed image inside a task) may succeed if the edit is submitted again.

    ``InternalError.*`` (including ``InternalError.Timeout``: no result within 3 h), capacity errors and
    input-download timeouts are worth a new paid attempt; moderation (``DataInspectionFailed``), invalid
    parameters and unknown codes are not, because resubmitting would pay for the same failure again.
    """
    if not code:
        return False
    return code in _RESUBMIT_HELPS or code.split(".", 1)[0] in _RESUBMIT_HELPS


def error_from_response(
    http_status: int,
    body: Mapping[str, Any] | str | None,
    headers: Mapping[str, str],
) -> WanxiangError:
    """Build the error for a failed HTTP exchange (or a 200 that carries an error ``code``).

    :param http_status: The response status.
    :param body: The decoded JSON envelope, or the raw text when it was not JSON, or ``None``.
    :param headers: Response headers (only ``Retry-After`` and the request-id headers are read).
    """
    code: str | None = None
    message: str | None = None
    request_id: str | None = None
    if isinstance(body, Mapping):
        raw_code = body.get("code")
        code = server_text(raw_code, _MAX_CODE_CHARS) if raw_code not in (None, "") else None
        message = server_text(body.get("message") or body.get("msg") or None)
        request_id = server_text(body.get("request_id") or None, _MAX_CODE_CHARS)
    elif isinstance(body, str) and body.strip():
        message = server_text(body, _MAX_BODY_CHARS)
    request_id = request_id or server_text(
        header(headers, "x-request-id", "x-dashscope-request-id"), _MAX_CODE_CHARS
    )
    location = server_text(header(headers, "location"))
    if 300 <= http_status < 400 and location and not message:
        # The API never redirects; a gateway does (e.g. http -> https). Following it could drop the key.
        message = f"redirected to {location}; set the base URL (connection host) to the final URL"
    if http_status == 407 and not code:
        # Only a forward proxy answers 407; the API itself never does.
        said = f": {message}" if message else ""
        message = (
            f"the proxy refused the request (407 Proxy Authentication Required{said}); "
            "check the proxy credentials in HTTP_PROXY/HTTPS_PROXY or the connection's extra.proxy"
        )

    rule = _rule_for_code(code)
    error_class = rule.error_class if rule else _class_for_status(http_status)
    retryable: bool | None = rule.retryable if rule else None
    if rule and message and any(fragment in message.lower() for fragment in rule.permanent_if_message_has):
        retryable = False
    return error_class(
        message or f"HTTP {http_status} with no error message",
        code=code,
        request_id=request_id,
        http_status=http_status,
        retryable=retryable,
        retry_after=parse_retry_after(headers),
    )
