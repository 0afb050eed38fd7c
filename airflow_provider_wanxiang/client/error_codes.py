"""The server's error ``code`` (and HTTP status) → the client's error class: the one translation.

DashScope answers errors with a flat ``{"code", "message", "request_id"}`` envelope. The ``code`` says
much more than the HTTP status (``400`` covers both a typo and a content-moderation rejection; ``429``
covers both a rate limit that clears in a second and an unpaid bill that never will), so
:func:`error_from_response` looks the code up in a table first and falls back to the status only for codes
it does not know. :func:`is_retryable_by_resubmit` answers the other question a code raises: whether a
FAILED task is worth paying for again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_wanxiang.client._headers import header, parse_retry_after
from airflow_provider_wanxiang.client._text import server_text
from airflow_provider_wanxiang.client.errors import (
    AuthenticationError,
    BadRequestError,
    ContentModerationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnsupportedOperationError,
    WanxiangError,
    WanxiangRemoteError,
)

__all__ = ["error_from_response", "is_retryable_by_resubmit"]

_MAX_BODY_CHARS = 300
_MAX_CODE_CHARS = 100


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
