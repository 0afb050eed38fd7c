"""Result downloads at the edges: a per-image total deadline against trickling servers, and the same proxy
rules as every other route (``HTTP_PROXY``/``NO_PROXY`` or the connection's ``extra.proxy``), through a
real forward proxy on loopback that counts what passes (``proxy.py``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fsspec.implementations.local import LocalFileSystem

from airflow_provider_wanxiang.client.deadlines import deadline_session
from airflow_provider_wanxiang.client.retry import RetryPolicy
from airflow_provider_wanxiang.copying import DownloadError, copy_png
from airflow_provider_wanxiang.operators.copy_results import REPORT_XCOM_KEY, WanxiangCopyResultsOperator
from airflow_provider_wanxiang.testing.emulator import WanxiangEmulator
from tests.integration.copy.conftest import fetch, finished_task, leftovers, run_operator
from tests.integration.forward_proxy import ForwardProxy
from tests.integration.hostile_server import HostileServer

pytestmark = pytest.mark.integration

PROXY_SECRET = "copy-proxy-s3cret"


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    server = HostileServer()
    yield server
    server.close()


@pytest.fixture(scope="module")
def auth_proxy() -> Iterator[ForwardProxy]:
    with ForwardProxy(f"copy:{PROXY_SECRET}") as server:
        yield server


@pytest.fixture(autouse=True)
def _no_proxy_environment(monkeypatch: pytest.MonkeyPatch, auth_proxy: ForwardProxy) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    auth_proxy.clear()


# -- deadlines -------------------------------------------------------------------------------------------
@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode", ["drip_body", "drip_headers"])
def test_a_trickling_result_server_fails_the_image_at_its_deadline(
    hostile: HostileServer, tmp_path: Path, mode: str
) -> None:
    """One byte every 0.5 s never trips the 10 s read timeout; the 2 s image deadline ends it, attempts
    included (a retry would not get a fresh deadline), and nothing is left at the destination."""
    hostile.reset(mode, interval=0.5)
    target = tmp_path / "out" / "image.png"
    with deadline_session() as session, pytest.raises(DownloadError) as caught:
        copy_png(
            f"{hostile.url}/results/t/0.png?Signature=secret-signature",
            LocalFileSystem(),
            str(target),
            session=session,
            timeout=(5.0, 10.0),
            retry=RetryPolicy(max_attempts=3, base_delay=0.0),
            deadline=2.0,
        )
    message = str(caught.value)
    assert "did not complete within the deadline of 2 s" in message and "download_deadline" in message
    assert not caught.value.retryable
    assert "secret-signature" not in message
    assert hostile.requests == [("GET", "/results/t/0.png")]  # the deadline covers the image, not one try
    assert not target.exists() and leftovers(tmp_path) == []


@pytest.fixture
def trickling_results(emulator: WanxiangEmulator, hostile: HostileServer) -> WanxiangEmulator:
    """The emulator with its result URLs pointing at the hostile server (which relays them to it); the API
    calls go straight to the emulator, as ``wanxiang_default`` says."""
    emulator.configure(public_url=hostile.url)
    return emulator


@pytest.mark.timeout(60)
def test_the_copy_operator_passes_its_download_deadline(
    trickling_results: WanxiangEmulator, hostile: HostileServer, tmp_path: Path
) -> None:
    """Result URLs trickle (the API calls go straight to the emulator): the image fails at its deadline."""
    task = finished_task(trickling_results, n=1)
    hostile.reset(
        "drip_body", interval=0.5, upstream=trickling_results.url, only=lambda m, p: p.startswith("/results/")
    )
    operator = WanxiangCopyResultsOperator(
        task_id="copy",
        wanxiang_task_id=task.task_id,
        destination=f"file://{tmp_path}",
        download_deadline=1.5,
        download_timeout=10.0,
    )
    outcome, ti = run_operator(operator)
    assert isinstance(outcome, Exception)
    report = ti.xcoms[REPORT_XCOM_KEY]
    assert report["copy_errors"] == 1
    assert "deadline of 1.5 s" in report["images"][0]["message"]
    assert hostile.requests == [("GET", f"/results/{task.task_id}/0.png")]
    assert list(tmp_path.rglob("*.png")) == [] and leftovers(tmp_path) == []


# -- proxies ---------------------------------------------------------------------------------------------
@pytest.mark.timeout(60)
def test_copy_png_honours_http_proxy_and_no_proxy(
    emulator: WanxiangEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = finished_task(emulator, n=1)
    url = task.results[0].url
    assert url is not None
    with ForwardProxy() as open_proxy:
        monkeypatch.setenv("HTTP_PROXY", open_proxy.url)
        with deadline_session() as session:
            copy_png(url, LocalFileSystem(), str(tmp_path / "a.png"), session=session)
            monkeypatch.setenv("NO_PROXY", "127.0.0.1")
            copy_png(url, LocalFileSystem(), str(tmp_path / "b.png"), session=session)
        records = open_proxy.wait_for(1)
    assert [(r["method"], r["path"]) for r in records] == [("GET", f"/results/{task.task_id}/0.png")]
    assert records[0]["authorization"] is None  # nothing added to a signed URL (no netrc, no key)
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes() == fetch(url)


@pytest.mark.timeout(60)
def test_the_copy_operator_uses_the_connection_proxy_for_the_api_and_the_downloads(
    emulator: WanxiangEmulator,
    auth_proxy: ForwardProxy,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    wanxiang_connection: Callable[..., str],
) -> None:
    task = finished_task(emulator, n=2)
    auth_proxy.clear()
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # the connection's proxy wins over this dead one
    wanxiang_connection(host=emulator.url, api_key=emulator.api_key, proxy=auth_proxy.url_with_credentials)
    downloads_before = emulator.stats()["result_downloads"]
    operator = WanxiangCopyResultsOperator(
        task_id="copy", wanxiang_task_id=task.task_id, destination=f"file://{tmp_path}"
    )
    uris, ti = run_operator(operator)
    assert isinstance(uris, list) and len(uris) == 2, uris
    counts = auth_proxy.counts()
    assert counts[("GET", f"/api/v1/tasks/{task.task_id}")] == 1
    assert counts[("GET", f"/results/{task.task_id}/0.png")] == 1
    assert counts[("GET", f"/results/{task.task_id}/1.png")] == 1
    assert emulator.stats()["result_downloads"] - downloads_before == 2
    assert all(record["proxy_authorization"] for record in auth_proxy.records())
    assert PROXY_SECRET not in json.dumps(ti.xcoms)
