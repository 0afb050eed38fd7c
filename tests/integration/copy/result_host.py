"""One loopback HTTP server for result downloads, able to misbehave on purpose.

A result host answers like OSS (``Content-Length`` and ``Content-MD5``) unless told otherwise. Tests of
``copy_png`` register each answer with :meth:`ResultHost.serve`; tests of the copy operator put it in front
of the emulator (its ``public_url``, with :attr:`ResultHost.upstream` = the emulator): every path not
registered is relayed there, and :meth:`ResultHost.misbehave` spoils the next relayed answers. Both kinds
of answer go out through the same :class:`Route`, so a cut-short body is cut the same way in both suites.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

#: What ``misbehave`` can do to a relayed 200: ``truncate`` (the full Content-Length announced, half the
#: body sent, connection closed); ``truncate_unannounced`` (no Content-Length, half the body, closed: only
#: the PNG end check can tell); ``not_png`` (a 200 with an HTML page).
SPOILERS = ("truncate", "truncate_unannounced", "not_png")


@dataclass
class Route:
    """One answer: status, body and how the body is sent."""

    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    #: ``None``: ``image/png`` for a 200, else ``application/xml`` (an OSS error document).
    content_type: str | None = None
    cut_at: int | None = None  #: send only this many bytes, then close
    announce_length: bool = True  #: send ``Content-Length`` (else ``Connection: close``)
    chunk_delay: float = 0.0  #: pause between 64 KiB chunks
    content_md5: bool = True  #: send ``Content-MD5`` of the whole body on a 200


class ResultHost:
    """Serves registered routes; relays other paths to ``upstream`` (spoiled per :meth:`misbehave`)."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: dict[str, int] = {}
        self.upstream: str | None = None
        self._mode = "pass"
        self._times = 0
        host = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                host.hits[path] = host.hits.get(path, 0) + 1
                route = host.routes.get(path) or host._relay(self.path)
                self.send_response(route.status)
                default_type = "image/png" if route.status == 200 else "application/xml"
                self.send_header("Content-Type", route.content_type or default_type)
                if route.announce_length:
                    self.send_header("Content-Length", str(len(route.body)))
                else:
                    self.send_header("Connection", "close")
                if route.content_md5 and route.status == 200:
                    self.send_header(
                        "Content-MD5", base64.b64encode(hashlib.md5(route.body).digest()).decode()
                    )
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                body = route.body if route.cut_at is None else route.body[: route.cut_at]
                for start in range(0, len(body), 65536):
                    self.wfile.write(body[start : start + 65536])
                    if route.chunk_delay:
                        self.wfile.flush()
                        time.sleep(route.chunk_delay)
                self.wfile.flush()
                if route.cut_at is not None or not route.announce_length:
                    self.close_connection = True

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def serve(self, path: str, route: Route) -> str:
        """Answer ``path`` with ``route``; returns a signed-looking URL (its signature must never leak)."""
        self.routes[path] = route
        return f"{self.url}{path}?Expires=1&OSSAccessKeyId=k&Signature=secret-signature"

    def misbehave(self, mode: str, times: int) -> None:
        """Spoil the next ``times`` relayed answers with ``mode`` (one of :data:`SPOILERS`, or ``pass``)."""
        assert mode == "pass" or mode in SPOILERS, mode
        self._mode, self._times = mode, times

    def _relay(self, path_and_query: str) -> Route:
        assert self.upstream is not None, f"no route for {path_and_query} and no upstream to relay to"
        answer = requests.get(self.upstream + path_and_query, timeout=10)
        mode = self._mode if self._times > 0 else "pass"
        if mode != "pass":
            self._times -= 1
        relayed = Route(
            answer.content,
            status=answer.status_code,
            content_type=answer.headers.get("Content-Type", ""),
            # No digest: with the whole body's MD5 a spoiled body would fail that check first, and these
            # tests are about the length and PNG-end checks that must catch it without one.
            content_md5=False,
        )
        if mode == "pass" or answer.status_code != 200:
            return relayed
        if mode == "not_png":
            page = b"<html><body>Service temporarily unavailable</body></html>"
            return dataclasses.replace(relayed, body=page, content_type="text/html")
        return dataclasses.replace(
            relayed, cut_at=len(answer.content) // 2, announce_length=mode == "truncate"
        )

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
