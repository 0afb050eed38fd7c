"""The fair token bucket, driven by a fake clock: budget over any interval, FIFO order, refunds."""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider_wanxiang.client.pacing import TokenBucket


class FakeClock:
    """Time that stands still unless the test moves it."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_full_bucket_grants_its_burst_at_once_then_paces_at_the_rate() -> None:
    bucket = TokenBucket(rate=10, burst=3, clock=lambda: 0.0)
    delays = [bucket.reserve(0.0) for _ in range(6)]
    assert delays[:3] == [0.0, 0.0, 0.0]
    assert delays[3:] == pytest.approx([0.1, 0.2, 0.3])


def test_grants_over_any_interval_stay_within_rate_times_time_plus_burst() -> None:
    rate, burst = 10.0, 2.0
    bucket = TokenBucket(rate=rate, burst=burst, clock=lambda: 0.0)
    # Callers arrive in bursts at irregular times; each is granted at (arrival + delay).
    arrivals = [0.0] * 50 + [7.3] * 5 + [7.31] * 40 + [30.0] * 3
    granted = sorted(t + bucket.reserve(t) for t in arrivals)
    for i, start in enumerate(granted):
        for end in granted[i:]:
            inside = sum(1 for g in granted if start <= g <= end)
            assert inside <= rate * (end - start) + burst + 1e-9


def test_waiters_are_served_in_arrival_order() -> None:
    bucket = TokenBucket(rate=2, clock=lambda: 0.0)
    delays = [bucket.reserve(0.0) for _ in range(5)]
    assert delays == sorted(delays)
    assert len(set(delays)) == 5


def test_a_refunded_token_serves_the_next_caller() -> None:
    bucket = TokenBucket(rate=1, clock=lambda: 0.0)
    assert bucket.reserve(0.0) == 0.0
    assert bucket.reserve(0.0) == pytest.approx(1.0)  # this caller gives up
    bucket.refund(0.0)
    assert bucket.reserve(0.0) == pytest.approx(1.0), "the slot given back is the next one granted"


def test_tokens_accumulate_only_up_to_the_burst() -> None:
    bucket = TokenBucket(rate=1, burst=2, clock=lambda: 0.0)
    bucket.reserve(0.0)
    bucket.reserve(0.0)
    assert bucket.waiting_seconds(1000.0) == 0.0
    assert [bucket.reserve(1000.0) for _ in range(3)] == pytest.approx([0.0, 0.0, 1.0])


async def test_acquire_sleeps_the_reserved_delay_and_a_canceled_waiter_refunds() -> None:
    clock = FakeClock()
    slept: list[float] = []
    gate = asyncio.Event()

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        await gate.wait()

    bucket = TokenBucket(rate=4, clock=clock, sleep=sleep)
    await bucket.acquire()  # the full bucket's token: no sleep
    assert slept == []
    waiter = asyncio.ensure_future(bucket.acquire())
    await asyncio.sleep(0)
    assert slept == [pytest.approx(0.25)]
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert bucket.waiting_seconds(clock.now) == pytest.approx(0.25), "the canceled waiter's slot is free"


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (float("inf"), 1), (float("nan"), 1), (1, 0.5)])
def test_bad_parameters_are_refused(rate: float, burst: float) -> None:
    with pytest.raises(ValueError, match=r"rate|burst"):
        TokenBucket(rate=rate, burst=burst)
