"""Region / workspace / host → base URL, exactly per the connection contract in DESIGN.md."""

from __future__ import annotations

import pytest

from airflow_provider_wanxiang.client import (
    DEFAULT_MODEL,
    DEFAULT_REGION,
    REGIONS,
    WanxiangValidationError,
    console_task_url,
    resolve_base_url,
)


def test_constants() -> None:
    assert REGIONS == ("ap-southeast-1", "cn-beijing")
    assert DEFAULT_REGION == "ap-southeast-1"
    assert DEFAULT_MODEL == "wan2.5-i2i-preview"


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("ap-southeast-1", "https://dashscope-intl.aliyuncs.com/api/v1"),
        ("cn-beijing", "https://dashscope.aliyuncs.com/api/v1"),
    ],
)
def test_legacy_host_per_region(region: str, expected: str) -> None:
    assert resolve_base_url(region) == expected


def test_default_region_is_singapore() -> None:
    assert resolve_base_url() == "https://dashscope-intl.aliyuncs.com/api/v1"


@pytest.mark.parametrize("region", REGIONS)
def test_workspace_host(region: str) -> None:
    assert resolve_base_url(region, "ws-123_A") == f"https://ws-123_A.{region}.maas.aliyuncs.com/api/v1"


def test_empty_workspace_means_legacy_host() -> None:
    assert resolve_base_url("cn-beijing", "") == "https://dashscope.aliyuncs.com/api/v1"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765/api/v1"),
        ("http://127.0.0.1:8765/", "http://127.0.0.1:8765/api/v1"),
        ("http://127.0.0.1:8765/api/v1", "http://127.0.0.1:8765/api/v1"),
        ("http://127.0.0.1:8765/api/v1/", "http://127.0.0.1:8765/api/v1"),
        ("gateway.example.com", "https://gateway.example.com/api/v1"),
        ("gateway.example.com:8443/proxy/dashscope", "https://gateway.example.com:8443/proxy/dashscope"),
        ("  https://gw.example.com  ", "https://gw.example.com/api/v1"),
    ],
)
def test_host_override(host: str, expected: str) -> None:
    assert resolve_base_url("cn-beijing", "ws-1", host) == expected


@pytest.mark.parametrize(
    "host", ["ftp://example.com", "http://", "https://gw.example.com/api/v1?x=1", "http://a/#f"]
)
def test_unusable_host_is_rejected(host: str) -> None:
    with pytest.raises(WanxiangValidationError) as info:
        resolve_base_url(host=host)
    assert info.value.field == "host"
    assert host.strip() in str(info.value)


@pytest.mark.parametrize("region", ["us-east-1", "ap-southeast", "CN-BEIJING", ""])
def test_unknown_region_is_rejected_even_with_a_host(region: str) -> None:
    with pytest.raises(WanxiangValidationError) as info:
        resolve_base_url(region, host="http://127.0.0.1:1")
    err = info.value
    assert err.field == "region"
    assert err.value == region
    assert "ap-southeast-1 or cn-beijing" in str(err)
    assert repr(region) in str(err)


@pytest.mark.parametrize("workspace_id", ["a", "A" * 64, "ws_1-2", "0abc"])
def test_valid_workspace_ids(workspace_id: str) -> None:
    assert workspace_id in resolve_base_url("cn-beijing", workspace_id)


@pytest.mark.parametrize("workspace_id", ["-ws", "_ws", "A" * 65, "ws.1", "ws/1", "ws 1", "wś"])
def test_invalid_workspace_ids(workspace_id: str) -> None:
    with pytest.raises(WanxiangValidationError) as info:
        resolve_base_url("cn-beijing", workspace_id)
    assert info.value.field == "workspace_id"
    assert "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$" in str(info.value)


def test_console_link_is_per_region_and_quotes_the_task_id() -> None:
    sg = console_task_url("ap-southeast-1", "abc-123")
    bj = console_task_url("cn-beijing", "a/b?c")
    assert sg.startswith("https://modelstudio.console.alibabacloud.com/")
    assert "abc-123" in sg
    assert bj.startswith("https://bailian.console.aliyun.com/")
    assert "a%2Fb%3Fc" in bj
    with pytest.raises(WanxiangValidationError):
        console_task_url("us-east-1", "x")
