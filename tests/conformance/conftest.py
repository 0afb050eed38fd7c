"""Fixtures for running the official ``dashscope`` SDK (1.x ``ImageSynthesis``) against the emulator.

If the real SDK is happy with the emulator's answers, clients built against the emulator will be happy
with the real service's: the SDK is the one independent implementation of the wire protocol we have.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_wanxiang.testing.emulator import WanxiangEmulator
from tests.image_host import ImageHost
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
def image_url(image_host: ImageHost) -> str:
    """A PNG served over plain HTTP on loopback (the 'public URL' input form)."""
    return image_host.add("catalogue/dress.png", png_bytes(1024, 768))
