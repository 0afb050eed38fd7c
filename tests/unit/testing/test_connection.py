"""``testing.connection``: the one builder of ``AIRFLOW_CONN_*`` values, read back by Airflow itself."""

from __future__ import annotations

import json

import pytest

from airflow_provider_wanxiang.client import RetryPolicy
from airflow_provider_wanxiang.hooks.wanxiang import WanxiangHook, client_config_from_connection
from airflow_provider_wanxiang.testing.connection import connection_env_var, connection_json

SECRET = "sk-connection-helper-test"


def test_env_var_name_is_the_upper_cased_conn_id() -> None:
    assert connection_env_var() == "AIRFLOW_CONN_WANXIANG_DEFAULT"
    assert connection_env_var("wx_proxy") == "AIRFLOW_CONN_WX_PROXY"


def test_airflow_reads_the_json_as_the_connection_the_hook_configures_from(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    value = connection_json(
        host="http://127.0.0.1:8765", api_key=SECRET, region="cn-beijing", proxy="http://127.0.0.1:3128"
    )
    monkeypatch.setenv(connection_env_var("wx_helper"), value)
    conn = WanxiangHook.get_connection("wx_helper")
    assert (conn.conn_type, conn.password, conn.host) == ("wanxiang", SECRET, "http://127.0.0.1:8765")
    assert conn.extra_dejson == {"region": "cn-beijing", "proxy": "http://127.0.0.1:3128"}
    config = client_config_from_connection(conn, conn.extra_dejson, timeout=5.0, retry=RetryPolicy())
    assert config.base_url == "http://127.0.0.1:8765/api/v1"
    assert config.proxy == "http://127.0.0.1:3128"


def test_omitted_parts_are_left_out_so_broken_connections_can_be_built() -> None:
    assert json.loads(connection_json()) == {"conn_type": "wanxiang"}
    assert json.loads(connection_json(host="http://127.0.0.1:1")) == {
        "conn_type": "wanxiang",
        "host": "http://127.0.0.1:1",
    }
