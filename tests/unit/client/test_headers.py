"""``client._headers``: case-insensitive header lookup and the server's ``Retry-After`` in both forms."""

from __future__ import annotations

import email.utils

import pytest

from airflow_provider_wanxiang.client import errors, parse_retry_after
from airflow_provider_wanxiang.client._headers import header


def test_header_lookup_ignores_case_and_skips_empty_values() -> None:
    headers = {"X-Request-Id": "", "X-DashScope-Request-Id": "r-2", "Location": "https://x"}
    assert header(headers, "x-request-id", "x-dashscope-request-id") == "r-2"
    assert header(headers, "location") == "https://x"
    assert header(headers, "retry-after") is None


def test_retry_after_seconds_and_milliseconds() -> None:
    assert parse_retry_after({"retry-after": "0.5"}) == 0.5
    assert parse_retry_after({"Retry-After": " 7 "}) == 7.0
    assert parse_retry_after({"retry-after-ms": "250", "Retry-After": "9"}) == 0.25  # the finer one wins
    assert parse_retry_after({"retry-after-ms": "soon", "Retry-After": "9"}) == 9.0
    assert parse_retry_after({"Retry-After": "-3"}) == 0.0
    assert parse_retry_after({}) is None
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({"Retry-After": "  "}) is None


def test_retry_after_http_date() -> None:
    now = 1_800_000_000.0
    assert parse_retry_after(
        {"Retry-After": email.utils.formatdate(now + 30, usegmt=True)}, now=now
    ) == pytest.approx(30.0)
    assert parse_retry_after({"Retry-After": email.utils.formatdate(now - 30, usegmt=True)}, now=now) == 0.0
    # A date without a zone is not an RFC 9110 date: better no hint than a wrong one.
    assert parse_retry_after({"Retry-After": "Wed, 15 Jan 2027 08:00:00"}, now=now) is None


def test_the_earlier_import_path_from_errors_still_works() -> None:
    assert errors.parse_retry_after is parse_retry_after
