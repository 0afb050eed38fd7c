"""One emulator per test module, real HTTP on loopback, and clients that never really sleep.

Every retry wait goes through the policy's injected ``sleep``/``async_sleep``, which record the delay and
return at once: tests assert the delays the client *chose* (e.g. a ``Retry-After``) without waiting them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from airflow_provider_wanxiang.client import AsyncWanxiangClient, ClientConfig, RetryPolicy, WanxiangClient
from airflow_provider_wanxiang.emulator import EmulatorConfig, EmulatorServer

API_KEY = "sk-client-integration-secret-7f3a"
OTHER_KEY = "sk-client-integration-other-key"

#: Knobs restored before every test: instant tasks and no rate limits, so tests are fast and independent.
BASELINE: dict[str, Any] = {
    "task_seconds": 0.0,
    "task_seconds_spread": 0.0,
    "pending_fraction": 0.1,
    "submit_rps": 0.0,
    "query_qps": 0.0,
    "max_concurrent": 1000,
    "fault_rate": 0.0,
    "retry_after": None,
    "time_offset": 0.0,
    "latency": 0.0,
}


class SleepRecorder:
    """Stands in for ``time.sleep`` and ``asyncio.sleep``: records each delay, never waits."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    config = EmulatorConfig(port=0, api_keys=[API_KEY, OTHER_KEY], **BASELINE)
    with EmulatorServer(config) as server:
        yield server


@pytest.fixture(autouse=True)
def clean_emulator(emulator: EmulatorServer) -> None:
    emulator.reset()
    emulator.configure(**BASELINE)


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
def config(emulator: EmulatorServer, sleeps: SleepRecorder) -> ClientConfig:
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


def open_client(kind: str, config: ClientConfig) -> Any:
    return WanxiangClient(config) if kind == "sync" else AsyncFacade(config)


@pytest.fixture(params=["sync", "async"])
def any_client(request: pytest.FixtureRequest, config: ClientConfig) -> Iterator[Any]:
    """The sync client, then the async one: every scenario runs against both transports."""
    opened = open_client(request.param, config)
    try:
        yield opened
    finally:
        opened.close()
