"""The engine's pacing pieces on their own: the in-flight window and the create pacer."""

from __future__ import annotations

import asyncio

from airflow_provider_wanxiang.batch.engine import _CreatePacer, _Window


def test_window_shrinks_to_what_the_service_accepted_and_grows_back() -> None:
    async def scenario() -> list[int]:
        window = _Window(5)
        for _ in range(3):
            await window.acquire()
        await window.shrink()  # the 3rd create got a concurrency 429: the service holds 2 for us
        limits = [window.limit]
        await window.release()  # that 3rd slot is given back
        assert window.full
        await window.release(grow=True)  # a task ended
        limits.append(window.limit)
        return limits

    assert asyncio.run(scenario()) == [2, 3]


def test_pacer_sends_create_k_plus_1_only_after_create_1_was_answered_a_window_ago() -> None:
    async def scenario() -> tuple[bool, bool]:
        loop = asyncio.get_running_loop()
        pacer = _CreatePacer(1000.0)  # k = 1000: the token bucket never waits; only the window rule acts
        pacer.k = 2  # a window of 2 creates keeps the scenario short
        first = await pacer.acquire()
        (await pacer.acquire()).set_result(loop.time())
        third = asyncio.ensure_future(pacer.acquire())
        for _ in range(20):
            await asyncio.sleep(0)
        blocked = not third.done()  # the first create has no answer yet
        first.set_result(loop.time() - pacer.window)  # answered a full window ago: no further wait
        for _ in range(20):
            await asyncio.sleep(0)
        # Only the bucket's 1 ms spacing is left; its timer is due before this one (order, not speed).
        await asyncio.sleep(0.05)
        return blocked, third.done()

    assert asyncio.run(scenario()) == (True, True)
