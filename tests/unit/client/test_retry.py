"""The retry rule: create only when it cannot have been enqueued; reads on every transient error."""

from __future__ import annotations

import pytest

from airflow_provider_wanxiang.client import (
    RetryPolicy,
    TransportError,
    WanxiangError,
    build_edit_request,
    cancel_task_request,
    create_task_request,
    error_from_response,
    get_task_request,
    list_tasks_request,
    upload_policy_request,
)
from airflow_provider_wanxiang.client.protocol import UploadRequest
from airflow_provider_wanxiang.client.retry import may_have_enqueued

CREATE = create_task_request(build_edit_request(prompt="p", images=["https://e.com/a.png"]))
UPLOAD = UploadRequest(
    url="http://o", fields=(), filename="a.png", content=b"", content_type="image/png", oss_url=""
)
READS = [get_task_request("t"), list_tasks_request(), upload_policy_request("m"), cancel_task_request("t")]


def http_error(status: int, code: str | None = None, message: str = "m") -> WanxiangError:
    return error_from_response(status, {"code": code, "message": message} if code else None, {})


REFUSED = TransportError("connection refused", request_sent=False)
DROPPED = TransportError("connection reset after sending", request_sent=True)
READ_TIMEOUT = TransportError("read timeout", request_sent=True)


@pytest.mark.parametrize(
    ("error", "retry_create"),
    [
        (http_error(429, "Throttling.RateQuota"), True),
        (http_error(429), True),
        (http_error(503, "ServiceUnavailable"), True),
        (http_error(503), True),
        (REFUSED, True),
        (http_error(500, "InternalError"), False),
        (http_error(502), False),
        (http_error(504, "GatewayTimeout"), False),
        (http_error(408, "RequestTimeOut"), False),
        (READ_TIMEOUT, False),
        (DROPPED, False),
        (http_error(429, "Throttling.AllocationQuota", "Free allocated quota exceeded."), False),
        (http_error(429, "PrepaidBillOverdue"), False),
        (http_error(400, "InvalidParameter"), False),
        (http_error(401, "InvalidApiKey"), False),
        (TransportError("bad certificate", request_sent=False, retryable=False), False),
    ],
)
def test_create_is_retried_only_when_it_cannot_have_been_enqueued(
    error: WanxiangError, retry_create: bool
) -> None:
    policy = RetryPolicy()
    assert policy.should_retry(error, CREATE) is retry_create
    assert policy.should_retry(error, UPLOAD) is retry_create  # the OSS upload forbids overwrites: same rule


@pytest.mark.parametrize(
    ("error", "ambiguous"),
    [
        (http_error(500, "InternalError"), True),
        (http_error(502), True),
        (http_error(504, "GatewayTimeout"), True),
        (READ_TIMEOUT, True),
        (DROPPED, True),
        (http_error(429, "Throttling.RateQuota"), False),
        (http_error(503, "ServiceUnavailable"), False),
        (REFUSED, False),
        (http_error(400, "InvalidParameter"), False),
        (http_error(401, "InvalidApiKey"), False),
        (http_error(429, "PrepaidBillOverdue"), False),
    ],
)
def test_a_create_may_have_been_enqueued_only_if_its_request_may_have_reached_the_queue(
    error: WanxiangError, ambiguous: bool
) -> None:
    """What the submit operator names in its log as an ambiguous create (a possible duplicate bill)."""
    assert may_have_enqueued(error) is ambiguous


@pytest.mark.parametrize("request_", READS, ids=lambda r: r.kind)
@pytest.mark.parametrize(
    ("error", "retry"),
    [
        (http_error(429, "Throttling"), True),
        (http_error(500, "InternalError"), True),
        (http_error(502), True),
        (http_error(503), True),
        (http_error(504), True),
        (READ_TIMEOUT, True),
        (DROPPED, True),
        (REFUSED, True),
        (http_error(400, "InvalidParameter"), False),
        (http_error(400, "UnsupportedOperation"), False),
        (http_error(401, "InvalidApiKey"), False),
        (http_error(403, "AccessDenied"), False),
        (http_error(404, "ModelNotFound"), False),
        (http_error(429, "CommodityNotPurchased"), False),
    ],
)
def test_idempotent_calls_retry_every_transient_error(
    request_: object, error: WanxiangError, retry: bool
) -> None:
    assert RetryPolicy().should_retry(error, request_) is retry  # type: ignore[arg-type]


def test_backoff_caps_grow_exponentially_up_to_max_delay() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=30.0, jitter=lambda cap: cap)
    assert [policy.delay(attempt) for attempt in range(1, 8)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_full_jitter_stays_within_the_cap() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=30.0)
    delays = [policy.delay(3) for _ in range(500)]
    assert all(0.0 <= delay <= 4.0 for delay in delays)
    assert len(set(delays)) > 400  # actually random
    wild = RetryPolicy(jitter=lambda cap: cap * 10)
    assert wild.delay(1) == 1.0  # a misbehaving jitter cannot exceed the cap


def test_retry_after_is_honoured_and_capped() -> None:
    policy = RetryPolicy(max_retry_after=10.0, jitter=lambda cap: 0.0)
    assert policy.delay(1, retry_after=3.0) == 3.0
    assert policy.delay(4, retry_after=0.0) == 0.0
    assert policy.delay(1, retry_after=120.0) == 10.0
    assert RetryPolicy(respect_retry_after=False, jitter=lambda cap: cap).delay(2, retry_after=7.0) == 2.0


def test_next_delay_respects_the_attempt_budget() -> None:
    policy = RetryPolicy(max_attempts=3, jitter=lambda cap: cap)
    error = http_error(503)
    assert policy.next_delay(error, READS[0], 1) == 1.0
    assert policy.next_delay(error, READS[0], 2) == 2.0
    assert policy.next_delay(error, READS[0], 3) is None
    assert policy.next_delay(http_error(500), CREATE, 1) is None
    assert RetryPolicy(max_attempts=1).next_delay(error, READS[0], 1) is None


def test_next_delay_uses_the_error_retry_after() -> None:
    error = error_from_response(429, {"code": "Throttling", "message": "m"}, {"Retry-After": "4"})
    assert RetryPolicy(jitter=lambda cap: 0.0).next_delay(error, CREATE, 1) == 4.0


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"base_delay": -1.0}, {"max_retry_after": -1.0}])
def test_nonsense_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_policy_equality_ignores_injected_functions() -> None:
    assert RetryPolicy(sleep=lambda s: None) == RetryPolicy()
    assert "sleep" not in repr(RetryPolicy())
