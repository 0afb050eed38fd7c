"""``client.proxies``: the one decision of which proxy a URL goes through, from the environment or the
connection, and how it is handed to each transport without showing its credentials."""

from __future__ import annotations

import base64

import pytest

from airflow_provider_wanxiang.client import WanxiangValidationError
from airflow_provider_wanxiang.client.proxies import (
    ProxyRoute,
    parse_proxy_url,
    proxy_for_url,
    redact_credentials,
    requests_proxies,
)

_NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "REQUEST_METHOD")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _NAMES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def _proxy(url: str, configured: str | None = None) -> str | None:
    route = proxy_for_url(url, configured)
    return None if route is None else route.url


def test_no_proxy_configured_means_direct() -> None:
    assert proxy_for_url("https://dashscope-intl.aliyuncs.com/api/v1/tasks") is None


def test_the_proxy_follows_the_scheme_of_the_target(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://plain-proxy:3128")
    monkeypatch.setenv("HTTPS_PROXY", "http://tls-proxy:3129")
    assert _proxy("http://127.0.0.1:8765/api/v1/tasks") == "http://plain-proxy:3128"
    assert _proxy("https://dashscope.aliyuncs.com/api/v1/tasks") == "http://tls-proxy:3129"


def test_lower_case_names_work_and_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("https_proxy", "http://lower:1")
    assert _proxy("https://example.com/") == "http://lower:1"
    monkeypatch.setenv("HTTPS_PROXY", "http://upper:2")
    assert _proxy("https://example.com/") == "http://lower:1"


def test_all_proxy_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Often a SOCKS proxy, which neither transport speaks without extras; documented as not read."""
    monkeypatch.setenv("ALL_PROXY", "socks5://socks:1080")
    assert proxy_for_url("https://example.com/") is None


@pytest.mark.parametrize(
    ("no_proxy", "url", "bypassed"),
    [
        ("127.0.0.1", "http://127.0.0.1:8765/api/v1", True),
        ("localhost,127.0.0.1", "http://127.0.0.1:8765/api/v1", True),
        ("aliyuncs.com", "https://dashscope.aliyuncs.com/api/v1", True),
        (".aliyuncs.com", "https://dashscope.aliyuncs.com/api/v1", True),
        ("*", "https://anything.example.com/", True),
        ("10.0.0.0/8", "http://10.1.2.3/api/v1", True),
        ("10.0.0.0/8", "http://11.1.2.3/api/v1", False),
        ("127.0.0.1:8765", "http://127.0.0.1:8765/api/v1", True),
        ("127.0.0.1:9999", "http://127.0.0.1:8765/api/v1", False),
        ("example.org", "https://dashscope.aliyuncs.com/api/v1", False),
    ],
)
def test_no_proxy(monkeypatch: pytest.MonkeyPatch, no_proxy: str, url: str, bypassed: bool) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy:3128")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:3128")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    assert (proxy_for_url(url) is None) is bypassed
    # The connection's own proxy obeys NO_PROXY the same way.
    assert (proxy_for_url(url, "http://conn-proxy:8080") is None) is bypassed


def test_the_connection_proxy_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://env-proxy:3128")
    assert _proxy("https://example.com/", "http://conn-proxy:8080") == "http://conn-proxy:8080"
    assert _proxy("http://example.com/", "http://conn-proxy:8080") == "http://conn-proxy:8080"
    assert _proxy("http://example.com/", "  ") == "http://env-proxy:3128"


def test_credentials_are_split_off_decoded_and_never_shown() -> None:
    route = parse_proxy_url("http://corp%5Cjane:p%40ss:w0rd@Proxy.Corp:3128")
    assert route.url == "http://proxy.corp:3128"
    assert (route.username, route.password) == ("corp\\jane", "p@ss:w0rd")
    assert "w0rd" not in repr(route) and "w0rd" not in str(route) and "jane" not in repr(route)
    assert route.authorization() == "Basic " + base64.b64encode(b"corp\\jane:p@ss:w0rd").decode()
    assert route.url_with_credentials() == "http://corp%5Cjane:p%40ss%3Aw0rd@proxy.corp:3128"
    assert parse_proxy_url(route.url_with_credentials()) == route


def test_an_open_proxy_has_no_authorization() -> None:
    route = parse_proxy_url("https://proxy:443")
    assert route == ProxyRoute("https://proxy:443")
    assert route.authorization() is None and route.url_with_credentials() == "https://proxy:443"


def test_a_proxy_without_scheme_means_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "proxy.corp:3128")
    assert _proxy("https://example.com/") == "http://proxy.corp:3128"


@pytest.mark.parametrize(
    "value", ["socks5://u:s3cr3t@proxy:1080", "http://u:s3cr3t@", "http://u:s3cr3t@proxy:99999"]
)
def test_unusable_proxies_are_rejected_without_their_credentials(value: str) -> None:
    with pytest.raises(WanxiangValidationError) as caught:
        parse_proxy_url(value)
    assert caught.value.field == "proxy"
    assert "s3cr3t" not in str(caught.value) and "s3cr3t" not in repr(caught.value)
    assert "http:// or https://" in str(caught.value)


def test_an_unusable_environment_proxy_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "socks5h://u:s3cr3t@socks:1080")
    with pytest.raises(WanxiangValidationError) as caught:
        proxy_for_url("https://example.com/")
    assert caught.value.field == "HTTPS_PROXY"
    assert "s3cr3t" not in str(caught.value)


def test_redact_credentials_removes_every_user_info() -> None:
    text = (
        "Cannot connect to http://u:p4ss@proxy:3128 (via https://x@y/z) at HTTPConnectionPool(host='proxy')"
    )
    redacted = redact_credentials(text)
    assert "p4ss" not in redacted and "x@" not in redacted
    assert "http://***@proxy:3128" in redacted and "https://***@y/z" in redacted


def test_requests_proxies_leave_no_key_for_requests_to_fill_from_the_environment() -> None:
    """requests adds environment proxies with setdefault: every key it reads is present."""
    assert requests_proxies(None) == {"http": None, "https": None, "all": None}
    route = parse_proxy_url("http://u:p@proxy:3128")
    assert requests_proxies(route) == {
        "http": "http://u:p@proxy:3128",
        "https": "http://u:p@proxy:3128",
        "all": None,
    }
