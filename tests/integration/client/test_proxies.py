"""Every route of both transports through a real forward proxy on loopback (``proxy.py``).

The proxy counts each request it forwards; the emulator counts what it served. Routes: create, get,
cancel, list, upload policy and the OSS form upload (which must carry no ``Authorization``, not even from
``~/.netrc``). ``HTTP_PROXY`` is honoured by both transports the same way, ``NO_PROXY`` bypasses it, and the
connection's own proxy (``ClientConfig.proxy``) wins over the environment. Proxy credentials never show up
in errors or logs.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_wanxiang.client import (
    AuthenticationError,
    TaskStatus,
    TransportError,
    UnsupportedOperationError,
    build_edit_request,
)
from airflow_provider_wanxiang.emulator import EmulatorServer
from tests.images import png_bytes, png_data_uri
from tests.integration.client.conftest import API_KEY, SleepRecorder, make_config, open_client
from tests.integration.forward_proxy import ForwardProxy

pytestmark = pytest.mark.integration

PROXY_SECRET = "pr0xy-s3cret-9d2"
CREATE = "/api/v1/services/aigc/image2image/image-synthesis"


@pytest.fixture(scope="module")
def open_proxy() -> Iterator[ForwardProxy]:
    with ForwardProxy() as server:
        yield server


@pytest.fixture(scope="module")
def auth_proxy() -> Iterator[ForwardProxy]:
    with ForwardProxy(f"wanxiang:{PROXY_SECRET}") as server:
        yield server


@pytest.fixture(autouse=True)
def _clean_environment(
    monkeypatch: pytest.MonkeyPatch, open_proxy: ForwardProxy, auth_proxy: ForwardProxy, tmp_path: Path
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    # A netrc entry for the emulator's host: neither transport may send it anywhere (least of all to OSS).
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login netrc-user password netrc-password\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    open_proxy.clear()
    auth_proxy.clear()


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _every_route(client: Any, emulator: EmulatorServer) -> str:
    """One call per route; returns the created task id."""
    emulator.configure(pending_fraction=1.0, task_seconds=30)  # stays PENDING: cancel really cancels
    created = client.create_task(
        build_edit_request(prompt="through the proxy", images=[png_data_uri(512, 512)])
    )
    assert client.get_task(created.task_id).status is TaskStatus.PENDING
    client.cancel_task(created.task_id)
    assert client.list_tasks().total == 1
    assert client.upload_file(png_bytes(640, 480), "cat.png", "wan2.5-i2i-preview").startswith("oss://")
    return created.task_id


def _expected(task_id: str) -> dict[tuple[str, str], int]:
    return {
        ("POST", CREATE): 1,
        ("GET", f"/api/v1/tasks/{task_id}"): 1,
        ("POST", f"/api/v1/tasks/{task_id}/cancel"): 1,
        ("GET", "/api/v1/tasks"): 1,
        ("GET", "/api/v1/uploads"): 1,
        ("POST", "/_oss/upload"): 1,
    }


@pytest.mark.timeout(60)
def test_every_route_goes_through_http_proxy(
    kind: str,
    emulator: EmulatorServer,
    open_proxy: ForwardProxy,
    sleeps: SleepRecorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", open_proxy.url)
    with open_client(kind, make_config(emulator.base_url, sleeps)) as client:
        task_id = _every_route(client, emulator)
    records = open_proxy.wait_for(6)
    assert dict(open_proxy.counts()) == _expected(task_id)
    stats = emulator.stats()
    assert (stats["tasks_created"], stats["task_queries"], stats["cancels"]) == (1, 1, 1)
    assert (stats["lists"], stats["upload_policies"], stats["uploads"]) == (1, 1, 1)
    # The API key goes to the API only; the OSS form POST carries no Authorization (no netrc either).
    for record in records:
        expected = None if record["path"] == "/_oss/upload" else f"Bearer {API_KEY}"
        assert record["authorization"] == expected, record


@pytest.mark.timeout(60)
def test_lower_case_http_proxy_is_honoured_too(
    kind: str,
    emulator: EmulatorServer,
    open_proxy: ForwardProxy,
    sleeps: SleepRecorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("http_proxy", open_proxy.url)
    with open_client(kind, make_config(emulator.base_url, sleeps)) as client:
        client.list_tasks()
    assert dict(open_proxy.counts()) == {("GET", "/api/v1/tasks"): 1}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "localhost,127.0.0.0/8", "*"])
def test_no_proxy_bypasses_the_proxy(
    kind: str,
    no_proxy: str,
    emulator: EmulatorServer,
    open_proxy: ForwardProxy,
    auth_proxy: ForwardProxy,
    sleeps: SleepRecorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Also for the connection's own proxy: NO_PROXY is where the network says "go direct"."""
    monkeypatch.setenv("HTTP_PROXY", open_proxy.url)
    monkeypatch.setenv("NO_PROXY", no_proxy)
    config = make_config(emulator.base_url, sleeps, proxy=auth_proxy.url_with_credentials)
    with open_client(kind, config) as client:
        _every_route(client, emulator)
    assert emulator.stats()["uploads"] == 1
    assert open_proxy.records() == [] and auth_proxy.records() == []


@pytest.mark.timeout(60)
def test_the_connection_proxy_wins_over_the_environment(
    kind: str,
    emulator: EmulatorServer,
    auth_proxy: ForwardProxy,
    sleeps: SleepRecorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there: unused, or it fails
    with open_client(
        kind, make_config(emulator.base_url, sleeps, proxy=auth_proxy.url_with_credentials)
    ) as client:
        task_id = _every_route(client, emulator)
    records = auth_proxy.wait_for(6)
    assert dict(auth_proxy.counts()) == _expected(task_id)
    assert all(record["proxy_authorization"] for record in records)


@pytest.mark.timeout(60)
def test_wrong_proxy_credentials_are_a_clear_error_without_the_password(
    kind: str,
    emulator: EmulatorServer,
    auth_proxy: ForwardProxy,
    sleeps: SleepRecorder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = auth_proxy.url.replace("http://", f"http://wanxiang:{PROXY_SECRET}-wrong@")
    caplog.set_level(logging.DEBUG)
    config = make_config(emulator.base_url, sleeps, proxy=wrong)
    with open_client(kind, config) as client, pytest.raises(AuthenticationError) as caught:
        client.list_tasks()
    assert caught.value.http_status == 407
    assert "proxy" in str(caught.value) and "extra.proxy" in str(caught.value)
    assert auth_proxy.records() == [] and emulator.stats()["lists"] == 0
    _assert_no_secret(caught.value, caplog, f"{PROXY_SECRET}-wrong")


@pytest.mark.timeout(60)
def test_an_unreachable_proxy_is_a_transport_error_without_the_password(
    kind: str, emulator: EmulatorServer, sleeps: SleepRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    config = make_config(
        emulator.base_url, sleeps, max_attempts=2, proxy=f"http://wanxiang:{PROXY_SECRET}@127.0.0.1:9"
    )
    caplog.set_level(logging.DEBUG)
    with open_client(kind, config) as client, pytest.raises(TransportError) as caught:
        client.create_task(build_edit_request(prompt="never sent", images=[png_data_uri(512, 512)]))
    assert not caught.value.request_sent  # the proxy was never reached: a create may be retried
    assert sleeps.delays  # and it was
    assert emulator.stats()["tasks_created"] == 0
    _assert_no_secret(caught.value, caplog, PROXY_SECRET)
    assert repr(config).count(PROXY_SECRET) == 0


def _assert_no_secret(error: BaseException, caplog: pytest.LogCaptureFixture, secret: str) -> None:
    shown = "".join(traceback.format_exception(error))  # chained causes included
    assert secret not in shown
    assert secret not in str(error) and secret not in repr(error)
    assert secret not in caplog.text


def test_unsupported_cancel_through_the_proxy_is_the_same_error(
    kind: str,
    emulator: EmulatorServer,
    open_proxy: ForwardProxy,
    sleeps: SleepRecorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The proxy relays the server's answer untouched: a RUNNING task still cannot be canceled."""
    monkeypatch.setenv("HTTP_PROXY", open_proxy.url)
    emulator.configure(pending_fraction=0.0, task_seconds=30)
    with open_client(kind, make_config(emulator.base_url, sleeps)) as client:
        created = client.create_task(build_edit_request(prompt="running", images=[png_data_uri(512, 512)]))
        with pytest.raises(UnsupportedOperationError):
            client.cancel_task(created.task_id)
    assert open_proxy.counts()[("POST", f"/api/v1/tasks/{created.task_id}/cancel")] == 1
