"""Server answers → error classes, keyed on the server ``code`` first, then the HTTP status."""

# The table below quotes the reference's exact server strings, so its lines are long.
# ruff: noqa: E501

from __future__ import annotations

import email.utils
import pickle
import time

import pytest

from airflow_provider_wanxiang.client import (
    AuthenticationError,
    BadRequestError,
    ContentModerationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransportError,
    UnsupportedOperationError,
    WanxiangError,
    WanxiangRemoteError,
    WanxiangValidationError,
    error_from_response,
    is_retryable_by_resubmit,
)

# (HTTP status, code, exact server message from the reference, expected class, retryable)
SERVER_ERRORS = [
    (400, "InvalidParameter", "Invalid request parameters.", BadRequestError, False),
    (400, "InvalidParameter.DataInspection", "Unable to download the media resource during the data inspection process.", BadRequestError, False),
    (400, "DataInspectionFailed", "Input data may contain inappropriate content.", ContentModerationError, False),
    (400, "IPInfringementSuspect", "Input data is suspected of being involved in IP infringement.", ContentModerationError, False),
    (400, "InvalidURL", "Invalid URL provided in your request.", BadRequestError, False),
    (400, "InvalidImage.FileFormat", "Invalid image type. Please ensure the uploaded file is a valid image.", BadRequestError, False),
    (400, "BadRequest.EmptyModel", 'Required parameter "model" missing from request.', BadRequestError, False),
    (400, "BadRequest.IllegalInput", "The input parameter requires json format.", BadRequestError, False),
    (400, "Arrearage", "Access denied, please make sure your account is in good standing.", PermissionDeniedError, False),
    (400, "UnsupportedOperation", "Failed to cancel the task, please confirm if the task is in PENDING status.", UnsupportedOperationError, False),
    (401, "InvalidApiKey", "Invalid API-key provided.", AuthenticationError, False),
    (401, "InvalidApiKey", "No API-key provided.", AuthenticationError, False),
    (401, "NOT AUTHORIZED", "Access denied: Either you are not authorized to access this workspace", AuthenticationError, False),
    (403, "AccessDenied", "current user api does not support synchronous calls.", PermissionDeniedError, False),
    (403, "AccessDenied.Unpurchased", "Access to model denied. Please make sure you are eligible for using the model.", PermissionDeniedError, False),
    (403, "AllocationQuota.FreeTierOnly", "The free tier of the model has been exhausted.", PermissionDeniedError, False),
    (404, "ModelNotFound", "Model can not be found.", NotFoundError, False),
    (404, "WorkSpaceNotFound", "WorkSpace can not be found.", NotFoundError, False),
    (408, "RequestTimeOut", "Request timed out, please try again later.", ServerError, True),
    (429, "Throttling", "Requests throttling triggered.", RateLimitError, True),
    (429, "Throttling.RateQuota", "Requests rate limit exceeded, please try again later.", RateLimitError, True),
    (429, "Throttling.BurstRate", "Request rate increased too quickly.", RateLimitError, True),
    (429, "Throttling.AllocationQuota", "Allocated quota exceeded, please increase your quota limit.", RateLimitError, True),
    (429, "Throttling.AllocationQuota", "Free allocated quota exceeded.", RateLimitError, False),
    (429, "Throttling.AllocationQuota", "You exceeded your current quota, please check your plan and billing details.", RateLimitError, False),
    (429, "CommodityNotPurchased", "Commodity has not purchased yet.", RateLimitError, False),
    (429, "PrepaidBillOverdue", "The prepaid bill is overdue.", RateLimitError, False),
    (429, "PostpaidBillOverdue", "The postpaid bill is overdue.", RateLimitError, False),
    (500, "InternalError", "An internal error has occured, please try again later or contact service support.", ServerError, True),
    (500, "InternalError.Algo", "inference internal error.", ServerError, True),
    (500, "InternalError.Timeout", "An internal timeout error has occured during execution, please try again later or contact service support.", ServerError, True),
    (500, "SystemError", "An system error has occured, please try again later.", ServerError, True),
    (503, "ModelServingError", "Too many requests. Your requests are being throttled due to system capacity limits.", ServerError, True),
    (503, "ModelUnavailable", "Model is unavailable, please try again later.", ServerError, True),
    (503, "ServiceUnavailable", "x", ServerError, True),
    (504, "GatewayTimeout", "x", ServerError, True),
]  # fmt: skip


@pytest.mark.parametrize(("status", "code", "message", "cls", "retryable"), SERVER_ERRORS)
def test_code_table(status: int, code: str, message: str, cls: type[WanxiangError], retryable: bool) -> None:
    body = {"code": code, "message": message, "request_id": "7438d53d-6eb8-4596-8835-xxxxxx"}
    err = error_from_response(status, body, {})
    assert type(err) is cls
    assert err.retryable is retryable
    assert (err.code, err.message, err.http_status) == (code, message, status)
    assert err.request_id == "7438d53d-6eb8-4596-8835-xxxxxx"
    text = str(err)
    assert code in text and message in text and "7438d53d-6eb8-4596-8835-xxxxxx" in text


def test_code_wins_over_http_status() -> None:
    # Moderation arrives as a 400 like any bad parameter; the code is what tells them apart.
    assert type(error_from_response(400, {"code": "DataInspectionFailed", "message": "m"}, {})) is (
        ContentModerationError
    )
    # A throttling code behind an unexpected status is still a rate limit.
    assert isinstance(error_from_response(400, {"code": "Throttling", "message": "m"}, {}), RateLimitError)


def test_unknown_dotted_code_falls_back_to_its_family() -> None:
    err = error_from_response(500, {"code": "InternalError.SomethingNew", "message": "m"}, {})
    assert type(err) is ServerError and err.retryable


@pytest.mark.parametrize(
    ("status", "cls", "retryable"),
    [
        (400, BadRequestError, False),
        (401, AuthenticationError, False),
        (403, PermissionDeniedError, False),
        (404, NotFoundError, False),
        (409, BadRequestError, False),
        (418, BadRequestError, False),
        (429, RateLimitError, True),
        (500, ServerError, True),
        (502, ServerError, True),
        (503, ServerError, True),
        (504, ServerError, True),
        (302, WanxiangRemoteError, False),  # not a 4xx/5xx, but still what the server did
    ],
)
def test_unknown_code_falls_back_to_http_status(
    status: int, cls: type[WanxiangError], retryable: bool
) -> None:
    err = error_from_response(status, {"code": "SomethingNobodyDocumented", "message": "m"}, {})
    assert type(err) is cls
    assert err.retryable is retryable


def test_non_json_body_becomes_the_message_shortened() -> None:
    html = "<html><body>" + "Bad Gateway " * 100 + "</body></html>"
    err = error_from_response(502, html, {"X-Request-Id": "hdr-1"})
    assert type(err) is ServerError
    assert err.code is None
    assert err.message.startswith("<html><body>Bad Gateway")
    assert len(err.message) < 320
    assert err.request_id == "hdr-1"


def test_empty_body_still_explains() -> None:
    err = error_from_response(503, None, {})
    assert "HTTP 503" in str(err)


def test_request_id_from_dashscope_header_when_body_has_none() -> None:
    err = error_from_response(
        500, {"code": "InternalError", "message": "m"}, {"x-dashscope-request-id": "ds-1"}
    )
    assert err.request_id == "ds-1"


def test_msg_alias_is_read() -> None:
    assert (
        error_from_response(400, {"code": "InvalidParameter", "msg": "old style"}, {}).message == "old style"
    )


def test_errors_carry_the_servers_retry_after() -> None:
    """Parsing the header itself is tested in test_headers.py; here: the error records it."""
    err = error_from_response(429, {"code": "Throttling", "message": "m"}, {"Retry-After": "7"})
    assert err.retry_after == 7.0
    live = error_from_response(
        503, None, {"Retry-After": email.utils.formatdate(time.time() + 20, usegmt=True)}
    )
    assert live.retry_after is not None and 15 < live.retry_after <= 20


@pytest.mark.parametrize(
    ("code", "resubmit"),
    [
        ("InternalError", True),
        ("InternalError.Timeout", True),
        ("InternalError.Algo", True),
        ("ModelServingError", True),
        ("InvalidURL.Timeout", True),
        ("DataInspectionFailed", False),
        ("IPInfringementSuspect", False),
        ("InvalidParameter", False),
        ("InvalidURL", False),
        ("SomethingNew", False),
        (None, False),
        ("", False),
    ],
)
def test_failure_codes_worth_a_resubmit(code: str | None, resubmit: bool) -> None:
    assert is_retryable_by_resubmit(code) is resubmit


def test_str_never_contains_headers() -> None:
    headers = {"Authorization": "Bearer sk-top-secret", "Retry-After": "1", "x-request-id": "r"}
    err = error_from_response(401, {"code": "InvalidApiKey", "message": "Invalid API-key provided."}, headers)
    assert "sk-top-secret" not in str(err)
    assert "sk-top-secret" not in repr(err)


def test_errors_survive_pickling() -> None:
    err = error_from_response(
        429, {"code": "Throttling", "message": "m", "request_id": "r"}, {"Retry-After": "2"}
    )
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is RateLimitError
    assert (copy.code, copy.message, copy.request_id, copy.retryable, copy.retry_after) == (
        "Throttling",
        "m",
        "r",
        True,
        2.0,
    )
    transport = pickle.loads(pickle.dumps(TransportError("x", request_sent=False)))
    assert transport.request_sent is False and transport.retryable is True
    validation = pickle.loads(pickle.dumps(WanxiangValidationError("n", 5, "1-4", "5 is above 4")))
    assert (validation.field, validation.value, validation.limit, str(validation)) == (
        "n",
        5,
        "1-4",
        "n: 5 is above 4",
    )


def test_validation_error_is_a_value_error_and_shortens_values() -> None:
    uri = "data:image/png;base64," + "A" * 100_000
    err = WanxiangValidationError("images[0]", uri, "10 MB")
    assert isinstance(err, ValueError)
    assert len(str(err)) < 200
    assert isinstance(err.value, str) and len(err.value) < 100
    assert "100,022 chars" in str(err)
    assert "<2,048 bytes>" in str(WanxiangValidationError("images[1]", b"x" * 2048, "an image"))


def test_redirects_explain_themselves() -> None:
    err = error_from_response(301, "", {"Location": "https://dashscope.aliyuncs.com/api/v1/tasks"})
    assert "redirected to https://dashscope.aliyuncs.com/api/v1/tasks" in str(err)
    assert not err.retryable
