"""Fixtures for the emulator tests: a fresh emulator per test and a loopback image server.

Everything is real HTTP on 127.0.0.1: the emulator in a background thread, and a tiny threaded HTTP
server that plays "the public internet" for http(s) image inputs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import pytest

from airflow_provider_wanxiang.emulator import EmulatorConfig, EmulatorServer
from tests.emulator.emu_helpers import Emu, ImageHandler, ImageHost


@pytest.fixture
def make_emu() -> Iterator[Any]:
    """Factory for emulators with custom knobs; all are stopped at the end of the test."""
    servers: list[EmulatorServer] = []

    def make(**knobs: Any) -> Emu:
        knobs.setdefault("port", 0)
        knobs.setdefault("task_seconds", 0)
        server = EmulatorServer(EmulatorConfig(**knobs)).start()
        servers.append(server)
        return Emu(server)

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def emu(make_emu: Any) -> Emu:
    """An instant-task emulator with default limits and two unrelated keys."""
    result: Emu = make_emu(api_keys=["sk-emulator", "sk-other"])
    return result


@pytest.fixture(scope="session")
def image_host() -> Iterator[ImageHost]:
    files: dict[str, tuple[int, bytes]] = {}
    handler = type("Handler", (ImageHandler,), {"files": files})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield ImageHost(url=f"http://127.0.0.1:{httpd.server_address[1]}", files=files)
    httpd.shutdown()
    httpd.server_close()
