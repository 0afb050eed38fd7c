"""A loopback HTTP server that plays "the public internet" for http(s) image inputs.

Tests register bytes (or an error status) under a name and get back the URL to put in an edit; the session
fixture ``image_host`` (tests/conftest.py) serves them on 127.0.0.1.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _ImageHandler(BaseHTTPRequestHandler):
    files: dict[str, tuple[int, bytes]] = {}

    def do_GET(self) -> None:
        status, body = self.files.get(self.path, (404, b"not found"))
        self.send_response(status)
        self.send_header("Content-Type", "image/png" if status == 200 else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class ImageHost:
    """Serves registered bytes at ``http://127.0.0.1:PORT/<name>``."""

    url: str
    files: dict[str, tuple[int, bytes]]

    def add(self, name: str, data: bytes, status: int = 200) -> str:
        self.files[f"/{name}"] = (status, data)
        return f"{self.url}/{name}"


@contextmanager
def serving_images() -> Iterator[ImageHost]:
    """An :class:`ImageHost` listening on a free loopback port until the block ends."""
    files: dict[str, tuple[int, bytes]] = {}
    handler = type("Handler", (_ImageHandler,), {"files": files})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield ImageHost(url=f"http://127.0.0.1:{httpd.server_address[1]}", files=files)
    finally:
        httpd.shutdown()
        httpd.server_close()
