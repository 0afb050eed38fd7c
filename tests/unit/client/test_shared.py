"""The per-loop registry of shared pools: refcounts, rotation, one registry per event loop.

Real ``aiohttp`` sessions (creating one opens no socket), no server needed: what is checked is which
session each waiter gets and when it is closed.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from airflow_provider_wanxiang.client import ClientConfig, shared
from airflow_provider_wanxiang.client.shared import POOL_CONNECTIONS, open_pools, shared_pool

URL = "http://127.0.0.1:9"


def _config(key: str = "sk-one") -> ClientConfig:
    return ClientConfig(api_key=key, base_url=URL)


async def test_waiters_of_one_config_share_one_session_closed_by_the_last() -> None:
    config = _config()
    async with shared_pool(config) as first:
        async with shared_pool(_config()) as second:  # an equal config resolved again
            assert second is first
            assert first.waiters == 2
            assert first.client.config == config
        assert not first.session.closed, "one waiter is still there"
        assert first.waiters == 1
    assert first.session.closed
    assert open_pools() == {}


async def test_a_new_waiter_after_the_last_left_gets_a_fresh_pool() -> None:
    async with shared_pool(_config()) as before:
        pass
    async with shared_pool(_config()) as after:
        assert after is not before
        assert not after.session.closed


async def test_rotated_key_gets_its_own_pool_and_the_old_closes_when_its_waiters_leave() -> None:
    async with shared_pool(_config("sk-old")) as old:
        async with shared_pool(_config("sk-new")) as new:
            assert new is not old
            assert new.session is not old.session
            assert len(open_pools()) == 2
        assert new.session.closed
        assert not old.session.closed
    assert old.session.closed


async def test_the_registry_never_shows_the_key() -> None:
    async with shared_pool(_config("sk-very-secret")) as pool:
        assert "sk-very-secret" not in repr(open_pools())
        assert "sk-very-secret" not in repr(pool)


async def test_the_connector_bounds_the_sockets() -> None:
    async with shared_pool(_config()) as pool:
        assert pool.session.connector is not None
        assert pool.session.connector.limit == POOL_CONNECTIONS


async def test_a_canceled_waiter_still_releases_and_closes() -> None:
    entered = asyncio.Event()
    seen = []

    async def wait_forever() -> None:
        async with shared_pool(_config()) as pool:
            seen.append(pool)
            entered.set()
            await asyncio.sleep(3600)

    task = asyncio.ensure_future(wait_forever())
    await entered.wait()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await asyncio.sleep(0)  # the shielded close runs as a task of its own
    assert seen[0].session.closed
    assert open_pools() == {}


def test_separate_loops_get_separate_pools() -> None:
    async def hold(started: asyncio.Event, release: asyncio.Event, found: list[object]) -> None:
        async with shared_pool(_config()) as pool:
            found.append(pool)
            started.set()
            await release.wait()

    async def two_loops_worth() -> list[object]:
        found: list[object] = []
        started, release = asyncio.Event(), asyncio.Event()
        holder = asyncio.ensure_future(hold(started, release, found))
        await started.wait()
        # The other loop runs in its own thread while this one still holds its pool.
        other = await asyncio.to_thread(asyncio.run, _pool_in_fresh_loop())
        found.append(other)
        release.set()
        await holder
        return found

    mine, theirs = asyncio.run(two_loops_worth())
    assert mine is not theirs


async def _pool_in_fresh_loop() -> object:
    assert open_pools() == {}, "a fresh loop starts with no pools"
    async with shared_pool(_config()) as pool:
        return pool


async def test_each_pool_logs_a_periodic_summary_of_waits_and_queries(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(shared, "SUMMARY_SECONDS", 0.05)
    with caplog.at_level(logging.INFO, logger=shared.__name__):
        async with shared_pool(ClientConfig(api_key="sk-one", base_url=URL, query_budget=1000)) as pool:
            for _ in range(3):
                await pool.before_query()
            for _ in range(200):  # until the first summary (bounded; not a timing assertion)
                if caplog.records:
                    break
                await asyncio.sleep(0.05)
    (first, *_) = caplog.records
    message = first.getMessage()
    assert "1 waits, 3 status queries" in message and "budget 1000/s" in message
    assert "sk-one" not in message
