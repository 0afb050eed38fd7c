"""Fixtures for the emulator tests: the shipped ``wanxiang_emulator`` made fresh per test, an image server.

Everything is real HTTP on 127.0.0.1: the session emulator in a background thread, and a tiny threaded HTTP
server that plays "the public internet" for http(s) image inputs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import pytest

from airflow_provider_wanxiang.testing.emulator import WanxiangEmulator
from tests.emulator.emu_helpers import Emu, ImageHandler, ImageHost


@pytest.fixture
def make_emu(wanxiang_emulator: WanxiangEmulator) -> Callable[..., Emu]:
    """Put the session emulator back to its start with these live knobs (and instant tasks by default).

    Calling it again within a test starts afresh (tasks, counters, seeds), as a new emulator would.
    """

    def make(**knobs: Any) -> Emu:
        wanxiang_emulator.restore(**{"task_seconds": 0, **knobs})
        return Emu(wanxiang_emulator)

    return make


@pytest.fixture
def emu(make_emu: Callable[..., Emu]) -> Emu:
    """Instant tasks, default limits; keys ``api_key``, ``teammate_api_key``, ``other_api_key``."""
    return make_emu()


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
