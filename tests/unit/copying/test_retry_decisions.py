"""Download retries are decided by the client's RetryPolicy: which copy errors are retried, and how long."""

from __future__ import annotations

import pytest

from airflow_provider_wanxiang.client import (
    RetryPolicy,
    WanxiangError,
    WanxiangLocalError,
    WanxiangRemoteError,
)
from airflow_provider_wanxiang.client.retry import IDEMPOTENT_READ
from airflow_provider_wanxiang.copying import (
    CopyError,
    DestinationError,
    DestinationExistsError,
    DownloadError,
    IntegrityError,
    ResultExpiredError,
    ResultNotFoundError,
)

POLICY = RetryPolicy(max_attempts=3, base_delay=1.0, jitter=lambda cap: cap / 2)


@pytest.mark.parametrize(
    ("error", "delay"),
    [
        (DownloadError("cut short"), 0.5),  # network: retried, jittered below the 1 s cap
        (DownloadError("503", http_status=503, retryable=True), 0.5),
        (DownloadError("429", http_status=429, retryable=True, retry_after=7.0), 7.0),  # Retry-After wins
        (DownloadError("429", http_status=429, retryable=True, retry_after=600.0), 60.0),  # capped
        (IntegrityError("cut short: 3 of 9 bytes", retryable=True), 0.5),
        (DownloadError("400", http_status=400, retryable=False), None),
        (DownloadError("deadline", retryable=False), None),
        (ResultExpiredError("403", http_status=403), None),
        (ResultNotFoundError("404", http_status=404), None),
        (IntegrityError("not a PNG"), None),
        (DestinationError("disk full"), None),  # the caller's (Airflow's) retry handles the destination
        (DestinationExistsError("different object"), None),
    ],
)
def test_first_retry(error: CopyError, delay: float | None) -> None:
    assert POLICY.next_delay(error, IDEMPOTENT_READ, 1) == delay


def test_the_budget_and_the_backoff_caps() -> None:
    error = DownloadError("cut short")
    assert [POLICY.next_delay(error, IDEMPOTENT_READ, attempt) for attempt in (1, 2, 3)] == [0.5, 1.0, None]


def test_copy_errors_sit_in_the_client_tree() -> None:
    for remote in (DownloadError, IntegrityError, ResultExpiredError, ResultNotFoundError):
        assert issubclass(remote, WanxiangRemoteError) and issubclass(remote, CopyError)
    assert issubclass(DestinationExistsError, WanxiangLocalError)
    assert issubclass(DestinationError, WanxiangError)
    assert not issubclass(DestinationError, (WanxiangLocalError, WanxiangRemoteError))
    # The message is what it says (status and code are in the words), without the client's "[code] (HTTP n)"
    assert str(
        ResultExpiredError("answered 403 (AccessDenied: x)", http_status=403, code="AccessDenied")
    ) == ("answered 403 (AccessDenied: x)")
