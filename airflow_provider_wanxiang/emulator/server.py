"""Running the emulator: in a background thread (``EmulatorServer``) or in the foreground (``serve``).

Tests and the provider's own tooling need a real HTTP server on loopback that starts in milliseconds and
is inspected and steered from the test thread. The server owns its event loop in a daemon thread; every
call from outside is marshalled onto that loop, so state needs no locks.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Callable, Coroutine
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from airflow_provider_wanxiang.emulator.app import build_app
from airflow_provider_wanxiang.emulator.config import EmulatorConfig
from airflow_provider_wanxiang.emulator.core import EmulatorCore
from airflow_provider_wanxiang.emulator.faults import parse_fault

T = TypeVar("T")

START_TIMEOUT = 15.0


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind (port 0 = any free port) before serving, so the real port is known when we announce it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def url_for(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


async def start_site(core: EmulatorCore, *, access_log: bool = False) -> tuple[web.AppRunner, str]:
    """Bind, start serving, and record the bound URL in ``core``; returns the runner and the URL.

    :param access_log: one line per request on the ``aiohttp.access`` logger (aiohttp's default format:
        peer, time, request line with its query, status, size, referer, user agent), as a real gateway's
        log would have; a leak test reads it.
    """
    sock = bind_socket(core.config.host, core.config.port)
    url = url_for(sock)
    core.bound_url = url
    runner = web.AppRunner(
        build_app(core=core),
        access_log=logging.getLogger("aiohttp.access") if access_log else None,
        handle_signals=False,
        shutdown_timeout=1.0,
    )
    await runner.setup()
    site = web.SockSite(runner, sock)
    await site.start()
    return runner, url


class EmulatorServer:
    """The emulator in a daemon thread: ``with EmulatorServer(EmulatorConfig(port=0)) as emu: ...``.

    With no config it listens on a free loopback port (not the CLI's 8765): an in-process server is for
    tests, which must not collide with a developer's running emulator.
    """

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self._core = EmulatorCore(config or EmulatorConfig(port=0))
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._url: str | None = None

    # --- lifecycle -------------------------------------------------------------------------------
    def start(self) -> EmulatorServer:
        """Start serving; returns once the port is bound and the app accepts connections."""
        if self._thread is not None:
            raise RuntimeError("EmulatorServer already started")
        ready = threading.Event()
        errors: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._run, args=(ready, errors), name="wanxiang-emulator", daemon=True
        )
        self._thread.start()
        if not ready.wait(START_TIMEOUT):
            raise RuntimeError("wanxiang emulator did not start in time")
        if errors:
            self._thread.join()
            self._thread = None
            raise errors[0]
        return self

    def _run(self, ready: threading.Event, errors: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self._runner, self._url = loop.run_until_complete(start_site(self._core))
        except BaseException as exc:  # report bind errors to start()
            errors.append(exc)
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._runner.cleanup())
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    def stop(self) -> None:
        """Stop serving and join the thread (idempotent)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._thread = None
        self._loop = None

    def __enter__(self) -> EmulatorServer:
        return self.start() if self._thread is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def config(self) -> EmulatorConfig:
        """The current knobs (including changes made over ``POST /_emulator/config``)."""
        return self._core.config

    # --- addresses -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (results and control endpoints live here)."""
        if self._url is None:
            raise RuntimeError("EmulatorServer is not started")
        return self._url

    @property
    def base_url(self) -> str:
        """The DashScope base URL (``url`` + ``/api/v1``) to give a client or the SDK."""
        return self.url + "/api/v1"

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def api_key(self) -> str:
        """The first configured API key."""
        return self.config.api_keys[0]

    # --- control (marshalled onto the server loop) ------------------------------------------------
    def _call(self, func: Callable[[], T]) -> T:
        async def run() -> T:
            return func()

        return self._await(run())

    def _await(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            coro.close()
            raise RuntimeError("EmulatorServer is not started")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    def stats(self) -> dict[str, Any]:
        """Same JSON as ``GET /_emulator/stats``."""
        return self._call(self._core.stats_snapshot)

    def reset(self) -> None:
        """Forget tasks, uploads, faults and counters (knobs are kept)."""
        self._call(self._core.reset)

    def configure(self, **knobs: Any) -> dict[str, Any]:
        """Change live knobs (e.g. ``task_seconds=0``, ``result_ttl=1``); returns the resulting knobs."""
        return self._call(lambda: self._core.configure(knobs))

    def inject_faults(self, route: str, faults: list[dict[str, Any]]) -> None:
        """Queue scripted faults for the next requests on ``route`` (see ``POST /_emulator/faults``)."""
        parsed = [parse_fault(item) for item in faults]
        self._call(lambda: self._core.faults.push(route, parsed))
