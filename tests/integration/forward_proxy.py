"""A real HTTP forward proxy on loopback that counts what passes through it: ``proxy.py`` (PyPI).

``proxy.py`` is a maintained forward proxy with Basic proxy authentication (``--basic-auth``). It serves
from acceptor processes of its own, so :class:`CountingPlugin` records each request it forwards as one JSON
line in a file (named by an environment variable that the acceptor processes inherit), and
:class:`ForwardProxy` reads the file back. Only what the proxy actually forwarded is recorded: a request
refused for missing or wrong credentials (407) is not.
"""

from __future__ import annotations

import collections
import json
import os
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import proxy
from proxy.http.parser import HttpParser
from proxy.http.proxy import HttpProxyBasePlugin

_LOG_VARIABLE = "WANXIANG_TEST_PROXY_LOG"


class CountingPlugin(HttpProxyBasePlugin):  # type: ignore[misc]
    """Appends ``{method, host, port, path, authorization, proxy_authorization}`` per forwarded request."""

    def handle_client_request(self, request: HttpParser) -> HttpParser | None:
        path = os.environ.get(_LOG_VARIABLE)
        if path:
            raw_path = (request.path or b"/").decode("latin-1")
            record = {
                "method": (request.method or b"").decode("latin-1"),
                "host": (request.host or b"").decode("latin-1"),
                "port": request.port,
                "path": urlsplit(raw_path).path,
                "authorization": request.header(b"authorization").decode("latin-1")
                if request.has_header(b"authorization")
                else None,
                "proxy_authorization": request.has_header(b"proxy-authorization"),
            }
            with open(path, "a", encoding="utf-8") as log:
                log.write(json.dumps(record) + "\n")
        return request


class ForwardProxy:
    """``proxy.py`` on 127.0.0.1 (a free port), optionally requiring ``user:password``.

    :attr:`url` is the proxy URL without credentials, :attr:`url_with_credentials` with them.
    """

    def __init__(self, credentials: str | None = None) -> None:
        self.credentials = credentials
        self._dir = tempfile.TemporaryDirectory(prefix="wanxiang-proxy-")
        self.log_path = Path(self._dir.name) / "requests.jsonl"
        self.log_path.touch()
        arguments = [
            "--hostname",
            "127.0.0.1",
            "--port",
            "0",
            "--num-workers",
            "1",
            "--num-acceptors",
            "1",
            "--log-level",
            "WARNING",
            "--plugins",
            f"{__name__}.CountingPlugin",
        ]
        if credentials:
            arguments += ["--basic-auth", credentials]
        self._proxy = proxy.Proxy(arguments)
        self.url = ""
        self.url_with_credentials = ""

    def __enter__(self) -> ForwardProxy:
        previous = os.environ.get(_LOG_VARIABLE)
        os.environ[_LOG_VARIABLE] = str(self.log_path)  # inherited by the acceptor processes
        try:
            self._proxy.__enter__()
        finally:
            if previous is None:
                os.environ.pop(_LOG_VARIABLE, None)
            else:
                os.environ[_LOG_VARIABLE] = previous
        self.url = f"http://127.0.0.1:{self._proxy.flags.port}"
        self.url_with_credentials = (
            f"http://{self.credentials}@127.0.0.1:{self._proxy.flags.port}" if self.credentials else self.url
        )
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._proxy.__exit__(exc_type, exc, tb)
        self._dir.cleanup()

    def records(self) -> list[dict[str, Any]]:
        lines = self.log_path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def clear(self) -> None:
        self.log_path.write_text("", encoding="utf-8")

    def counts(self) -> collections.Counter[tuple[str, str]]:
        """Requests forwarded, by (method, path)."""
        return collections.Counter((r["method"], r["path"]) for r in self.records())

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The records once at least ``count`` are there (the plugin writes from another process)."""
        deadline = time.monotonic() + timeout
        while True:
            records = self.records()
            if len(records) >= count or time.monotonic() > deadline:
                return records
            time.sleep(0.02)
