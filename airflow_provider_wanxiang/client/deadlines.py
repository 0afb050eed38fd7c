"""A total deadline for blocking ``requests`` exchanges: connect, send, headers and the whole body.

``requests`` (urllib3, http.client) only knows per-operation socket timeouts: each ``recv`` may wait the
read timeout afresh, so a server that drips one byte a second — in the headers or in the body — keeps a
request alive forever. Checking the clock between reads cannot help while one read (or the header parser's
``readline``) is itself blocked. So the bound is enforced from outside: :func:`total_deadline` arms a timer,
and when it fires it shuts down the socket of every connection the exchange used; the blocked read returns
at once, and the caller sees :attr:`Deadline.expired` and raises its deadline error.

The connections find the running deadline through a context variable: :class:`DeadlineAdapter` (mounted on
the session) makes urllib3 build connections that attach themselves to it in ``connect`` (before the proxy
tunnel and the TLS handshake) and in ``request``. Only public extension points are used:
``HTTPAdapter.init_poolmanager`` / ``proxy_manager_for`` and urllib3's ``pool_classes_by_scheme`` /
``ConnectionCls``. Used by the sync client and by the result downloads
(:mod:`airflow_provider_wanxiang.copying.download`).
"""

from __future__ import annotations

import contextlib
import contextvars
import socket
import threading
from collections.abc import Iterator
from typing import Any

import requests
import requests.adapters
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

__all__ = ["Deadline", "DeadlineAdapter", "deadline_session", "mount_deadline_adapter", "total_deadline"]


class Deadline:
    """One armed deadline: which connections it guards, and whether it fired."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._connections: list[HTTPConnection] = []
        self._expired = False
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True

    @property
    def expired(self) -> bool:
        return self._expired

    def attach(self, connection: HTTPConnection) -> None:
        """Guard ``connection`` (idempotent); if the deadline already passed, cut it at once."""
        with self._lock:
            if connection not in self._connections:
                self._connections.append(connection)
            expired = self._expired
        if expired:
            _cut(connection)

    def _fire(self) -> None:
        with self._lock:
            self._expired = True
            connections = list(self._connections)
        for connection in connections:
            _cut(connection)

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.cancel()


def _cut(connection: HTTPConnection) -> None:
    """Shut the connection's socket down so a read blocked on it returns now (close comes later)."""
    sock: Any = getattr(connection, "sock", None)
    raw = sock if isinstance(sock, socket.socket) else getattr(sock, "socket", None)  # TLS-in-TLS wrapper
    if isinstance(raw, socket.socket):
        with contextlib.suppress(OSError):
            # The plain socket's shutdown even for an SSLSocket: its own override touches TLS state that
            # the reading thread is using.
            socket.socket.shutdown(raw, socket.SHUT_RDWR)


_current: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar("wanxiang_deadline", default=None)


@contextlib.contextmanager
def total_deadline(seconds: float) -> Iterator[Deadline]:
    """Bound every exchange made in this block (on a session with :class:`DeadlineAdapter`) to ``seconds``.

    Read the body *inside* the block: leaving it disarms the deadline.
    """
    deadline = Deadline(seconds)
    token = _current.set(deadline)
    deadline.start()
    try:
        yield deadline
    finally:
        deadline.stop()
        _current.reset(token)


def _attach(connection: HTTPConnection) -> None:
    deadline = _current.get()
    if deadline is not None:
        deadline.attach(connection)


class _GuardedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        _attach(self)
        super().connect()
        _attach(self)  # cuts at once if the deadline passed while connecting

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)  # a kept-alive connection is reused by a later exchange
        super().request(*args, **kwargs)


class _GuardedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        _attach(self)
        super().connect()
        _attach(self)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)
        super().request(*args, **kwargs)


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


_POOL_CLASSES = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}


class DeadlineAdapter(requests.adapters.HTTPAdapter):
    """An ``HTTPAdapter`` whose connections (direct or through a proxy) obey :func:`total_deadline`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOL_CLASSES

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _POOL_CLASSES
        return manager


def mount_deadline_adapter(session: requests.Session) -> requests.Session:
    """Mount a :class:`DeadlineAdapter` for http and https on ``session`` unless it has one already."""
    if all(isinstance(session.adapters.get(prefix), DeadlineAdapter) for prefix in ("http://", "https://")):
        return session
    adapter = DeadlineAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def deadline_session() -> requests.Session:
    """A new session whose exchanges can be bounded by :func:`total_deadline`."""
    return mount_deadline_adapter(requests.Session())
