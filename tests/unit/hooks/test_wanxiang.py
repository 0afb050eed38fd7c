"""Connection → client configuration, for every shape a user can write the ``wanxiang`` connection in."""

from __future__ import annotations

import json

import pytest
from airflow.sdk import Connection

from airflow_provider_wanxiang.client import RetryPolicy
from airflow_provider_wanxiang.hooks.wanxiang import WanxiangConnectionError, client_config_from_connection

SECRET = "sk-do-not-leak-0123456789"


def _config(**conn_kwargs: object):  # type: ignore[no-untyped-def]
    extra = conn_kwargs.pop("extra", {})
    conn = Connection(
        conn_id="wanxiang_default", conn_type="wanxiang", extra=json.dumps(extra), **conn_kwargs
    )
    return client_config_from_connection(conn, conn.extra_dejson, timeout=12.0, retry=RetryPolicy())


@pytest.mark.parametrize(
    ("conn_kwargs", "expected"),
    [
        ({"password": SECRET}, "https://dashscope-intl.aliyuncs.com/api/v1"),
        ({"password": SECRET, "extra": {"region": "cn-beijing"}}, "https://dashscope.aliyuncs.com/api/v1"),
        (
            {"password": SECRET, "extra": {"region": "ap-southeast-1", "workspace_id": "ws-123"}},
            "https://ws-123.ap-southeast-1.maas.aliyuncs.com/api/v1",
        ),
        (
            {"password": SECRET, "extra": {"region": "cn-beijing", "workspace_id": "llm-abc"}},
            "https://llm-abc.cn-beijing.maas.aliyuncs.com/api/v1",
        ),
        ({"password": SECRET, "host": "http://127.0.0.1:8765"}, "http://127.0.0.1:8765/api/v1"),
        ({"password": SECRET, "host": "http://127.0.0.1:8765/api/v1"}, "http://127.0.0.1:8765/api/v1"),
        # URI-style connections split host and port; the port is folded back in.
        ({"password": SECRET, "host": "http://127.0.0.1", "port": 9000}, "http://127.0.0.1:9000/api/v1"),
        (
            {
                "password": SECRET,
                "host": "https://gw.example.com/proxy/api/v1",
                "extra": {"workspace_id": "w1"},
            },
            "https://gw.example.com/proxy/api/v1",
        ),
    ],
)
def test_base_url_follows_the_connection_contract(conn_kwargs: dict[str, object], expected: str) -> None:
    config = _config(**conn_kwargs)
    assert config.base_url == expected
    assert config.timeout == 12.0


def test_workspace_id_is_passed_to_the_client() -> None:
    assert _config(password=SECRET, extra={"workspace_id": "ws-9"}).workspace_id == "ws-9"


def test_missing_api_key_names_the_connection_and_field() -> None:
    with pytest.raises(WanxiangConnectionError, match=r"'wanxiang_default'.*API key \(password field\)"):
        _config(password="  ")


def test_unknown_region_is_rejected_with_the_allowed_values() -> None:
    with pytest.raises(WanxiangConnectionError, match="us-east-1") as info:
        _config(password=SECRET, extra={"region": "us-east-1"})
    assert "ap-southeast-1" in str(info.value)
    assert "cn-beijing" in str(info.value)


def test_bad_workspace_id_is_rejected() -> None:
    with pytest.raises(WanxiangConnectionError, match="workspace"):
        _config(password=SECRET, extra={"workspace_id": "bad/ws"})


def test_api_key_never_appears_in_config_repr() -> None:
    config = _config(password=SECRET)
    assert SECRET not in repr(config)
    assert SECRET not in str(config)


def test_extra_proxy_is_read_into_the_client_config_and_kept_out_of_its_repr() -> None:
    config = _config(password=SECRET, extra={"proxy": "http://corp:pr0xy-pass@proxy.corp:3128"})
    assert config.proxy == "http://corp:pr0xy-pass@proxy.corp:3128"
    assert "pr0xy-pass" not in repr(config) and "proxy.corp" not in repr(config)


def test_no_extra_proxy_means_the_environment_decides() -> None:
    assert _config(password=SECRET).proxy is None
    assert _config(password=SECRET, extra={"proxy": ""}).proxy is None


@pytest.mark.parametrize("proxy", ["socks5://corp:pr0xy-pass@proxy.corp:1080", "http://corp:pr0xy-pass@"])
def test_an_unusable_extra_proxy_is_a_connection_error_without_its_password(proxy: str) -> None:
    with pytest.raises(WanxiangConnectionError) as caught:
        _config(password=SECRET, extra={"proxy": proxy})
    message = str(caught.value)
    assert "proxy" in message and "http:// or https://" in message
    assert "pr0xy-pass" not in message and SECRET not in message


def test_a_non_string_extra_proxy_is_a_connection_error() -> None:
    with pytest.raises(WanxiangConnectionError, match=r"extra\.proxy must be a proxy URL string"):
        _config(password=SECRET, extra={"proxy": {"http": "http://proxy:3128"}})


@pytest.mark.parametrize(
    ("extra", "expected"), [({}, 10.0), ({"query_budget": 4}, 4.0), ({"query_budget": "2.5"}, 2.5)]
)
def test_extra_query_budget_is_read_into_the_client_config(extra: dict[str, object], expected: float) -> None:
    assert _config(password=SECRET, extra=extra).query_budget == expected


@pytest.mark.parametrize("budget", ["fast", 0, -3, "0"])
def test_a_bad_extra_query_budget_is_a_connection_error_naming_field_and_value(budget: object) -> None:
    with pytest.raises(WanxiangConnectionError) as info:
        _config(password=SECRET, extra={"query_budget": budget})
    message = str(info.value)
    assert "wanxiang_default" in message and "query_budget" in message and str(budget) in message
    assert SECRET not in message
