"""Fixtures for running the official ``dashscope`` SDK (1.x ``ImageSynthesis``) against the emulator.

If the real SDK is happy with the emulator's answers, clients built against the emulator will be happy
with the real service's: the SDK is the one independent implementation of the wire protocol we have.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from airflow_provider_wanxiang.testing.emulator import WanxiangEmulator
from tests.images import png_bytes

dashscope = pytest.importorskip("dashscope")


@pytest.fixture
def emulator(wanxiang_emulator: WanxiangEmulator) -> WanxiangEmulator:
    """The shipped session emulator, fresh, with instant tasks (the SDK's ``wait`` polls every 1-5 s)."""
    wanxiang_emulator.configure(task_seconds=0)
    return wanxiang_emulator


@pytest.fixture
def sdk(emulator: WanxiangEmulator) -> Iterator[Any]:
    """The dashscope module pointed at the emulator (its global base URL restored afterwards)."""
    saved = dashscope.base_http_api_url
    dashscope.base_http_api_url = emulator.base_url
    try:
        yield dashscope
    finally:
        dashscope.base_http_api_url = saved


@pytest.fixture(scope="session")
def image_url() -> Iterator[str]:
    """A PNG served over plain HTTP on loopback (the 'public URL' input form)."""
    body = png_bytes(1024, 768)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/catalogue/dress.png"
    httpd.shutdown()
    httpd.server_close()
