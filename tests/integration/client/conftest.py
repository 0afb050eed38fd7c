"""The shipped ``wanxiang_emulator`` (real HTTP on loopback) at a fast baseline, and clients that never sleep.

Every retry wait goes through the policy's injected ``sleep``/``async_sleep``, which record the delay and
return at once: tests assert the delays the client *chose* (e.g. a ``Retry-After``) without waiting them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from airflow_provider_wanxiang.client import AsyncWanxiangClient, ClientConfig, RetryPolicy, WanxiangClient
from airflow_provider_wanxiang.testing.emulator import API_KEY, UNLIMITED_INSTANT, WanxiangEmulator
from airflow_provider_wanxiang.testing.emulator import OTHER_API_KEY as OTHER_KEY

__all__ = ["API_KEY", "OTHER_KEY"]


class SleepRecorder:
    """Stands in for ``time.sleep`` and ``asyncio.sleep``: records each delay, never waits."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def emulator(wanxiang_emulator: WanxiangEmulator) -> WanxiangEmulator:
    """The session emulator, fresh, with instant tasks and no rate limits."""
    wanxiang_emulator.configure(**UNLIMITED_INSTANT)
    return wanxiang_emulator


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


def make_config(
    base_url: str, sleeps: SleepRecorder, *, api_key: str = API_KEY, **options: Any
) -> ClientConfig:
    retry = RetryPolicy(
        max_attempts=options.pop("max_attempts", 5),
        sleep=sleeps,
        async_sleep=sleeps.async_sleep,
        jitter=lambda cap: cap,
    )
    return ClientConfig(
        api_key=api_key, base_url=base_url, timeout=options.pop("timeout", 5.0), retry=retry, **options
    )


@pytest.fixture
def config(emulator: WanxiangEmulator, sleeps: SleepRecorder) -> ClientConfig:
    return make_config(emulator.base_url, sleeps)


@pytest.fixture
def client(config: ClientConfig) -> Iterator[WanxiangClient]:
    with WanxiangClient(config) as sync_client:
        yield sync_client


@pytest.fixture
async def aclient(config: ClientConfig) -> AsyncIterator[AsyncWanxiangClient]:
    async with AsyncWanxiangClient(config) as async_client:
        yield async_client


class AsyncFacade:
    """Drives :class:`AsyncWanxiangClient` from synchronous test code on one private event loop.

    Lets one test body run against both transports (``any_client``), which is the point: the sync and
    async clients must behave identically. The client's aiohttp session is created lazily inside this
    loop, as it would be inside a trigger's loop.
    """

    def __init__(self, config: ClientConfig) -> None:
        self._loop = asyncio.new_event_loop()
        self.client = AsyncWanxiangClient(config)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._loop.run_until_complete(method(*args, **kwargs))

        return call

    def close(self) -> None:
        self._loop.run_until_complete(self.client.aclose())
        self._loop.close()


@contextmanager
def open_client(kind: str, config: ClientConfig) -> Iterator[Any]:
    """The ``"sync"`` client or the async one behind :class:`AsyncFacade`, closed when the block ends."""
    opened = WanxiangClient(config) if kind == "sync" else AsyncFacade(config)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture(params=["sync", "async"])
def any_client(request: pytest.FixtureRequest, config: ClientConfig) -> Iterator[Any]:
    """The sync client, then the async one: every scenario runs against both transports."""
    with open_client(request.param, config) as opened:
        yield opened
