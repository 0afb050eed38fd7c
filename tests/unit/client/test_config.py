"""Client configuration, and the promise that the API key never shows in a repr, str or error."""

from __future__ import annotations

import logging

import pytest

from airflow_provider_wanxiang.client import (
    AsyncWanxiangClient,
    ClientConfig,
    RetryPolicy,
    WanxiangClient,
    WanxiangValidationError,
)

KEY = "sk-0123456789abcdef-super-secret"


def test_repr_and_str_hide_the_key() -> None:
    config = ClientConfig(
        api_key=KEY, base_url="https://dashscope-intl.aliyuncs.com/api/v1", workspace_id="ws-1"
    )
    for text in (repr(config), str(config), repr(WanxiangClient(config)), repr(AsyncWanxiangClient(config))):
        assert KEY not in text
        assert "sk-0123" not in text


def test_defaults() -> None:
    config = ClientConfig(api_key=KEY, base_url="http://127.0.0.1:8765/api/v1")
    assert (config.connect_timeout, config.read_timeout) == (10.0, 60.0)
    assert config.retry == RetryPolicy()
    assert config.user_agent.startswith("airflow-provider-wanxiang/")
    assert config.workspace_id is None


def test_single_timeout_applies_to_connect_and_read() -> None:
    config = ClientConfig(api_key=KEY, base_url="http://h", timeout=30)
    assert (config.connect_timeout, config.read_timeout) == (30.0, 30.0)


def test_for_region_resolves_the_base_url() -> None:
    config = ClientConfig.for_region(KEY, region="cn-beijing", workspace_id="ws-9", timeout=5.0)
    assert config.base_url == "https://ws-9.cn-beijing.maas.aliyuncs.com/api/v1"
    assert config.workspace_id == "ws-9"
    assert ClientConfig.for_region(KEY, host="http://127.0.0.1:1").base_url == "http://127.0.0.1:1/api/v1"


@pytest.mark.parametrize("api_key", ["", "   ", f"{KEY}\n", f"Bearer {KEY}", f"{KEY}é"])
def test_malformed_keys_are_refused_without_echoing_them(api_key: str) -> None:
    with pytest.raises(WanxiangValidationError) as info:
        ClientConfig(api_key=api_key, base_url="http://h")
    err = info.value
    assert err.field == "api_key"
    for text in (str(err), repr(err), repr(err.value)):
        assert KEY not in text


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"base_url": "dashscope.aliyuncs.com"}, "base_url"),
        ({"base_url": "http://h", "timeout": 0}, "timeout"),
        ({"base_url": "http://h", "timeout": (5.0, -1.0)}, "timeout"),
        ({"base_url": "http://h", "workspace_id": "bad id"}, "workspace_id"),
    ],
)
def test_other_fields_are_validated(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(WanxiangValidationError) as info:
        ClientConfig(api_key=KEY, **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_the_key_is_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    # No network here: an unroutable URL fails at connect time, and every log line is checked.
    caplog.set_level(logging.DEBUG)
    config = ClientConfig(
        api_key=KEY,
        base_url="http://127.0.0.1:9/api/v1",
        timeout=0.5,
        retry=RetryPolicy(max_attempts=2, sleep=lambda s: None),
    )
    with WanxiangClient(config) as client, pytest.raises(Exception) as info:
        client.get_task("t")
    assert KEY not in str(info.value) and KEY not in repr(info.value)
    assert caplog.records, "the failure and the retry are logged"
    assert all(KEY not in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("budget", [0, -1, float("inf"), float("nan"), True, "10"])
def test_query_budget_must_be_a_positive_number(budget: object) -> None:
    with pytest.raises(WanxiangValidationError) as info:
        ClientConfig(api_key=KEY, base_url="http://h", query_budget=budget)  # type: ignore[arg-type]
    assert info.value.field == "query_budget"
    assert "queries per second > 0" in info.value.limit
    assert repr(budget) in str(info.value) and "20 task queries/s" in str(info.value)


def test_query_budget_defaults_to_half_the_documented_limit() -> None:
    assert ClientConfig(api_key=KEY, base_url="http://h").query_budget == 10.0
    assert ClientConfig(api_key=KEY, base_url="http://h", query_budget=2.5).query_budget == 2.5
