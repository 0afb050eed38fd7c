"""A fair async rate limiter: a token bucket whose waiters are served first come, first served.

Why: the account allows 20 status queries/s shared by every waiter; a triggerer holding thousands of waits
must stay under its share however their schedules line up. Each :meth:`TokenBucket.acquire` reserves the
next free slot at once (the bucket may go into debt), so reservations are granted in call order and nobody
starves; a waiter canceled before its slot gives the slot back. The arithmetic is :meth:`TokenBucket.reserve`,
pure and driven by the caller's clock, so it is unit-tested with a fake one.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable

__all__ = ["TokenBucket"]


class TokenBucket:
    """``rate`` acquisitions per second on average, at most ``burst`` of them at once after a quiet spell.

    Over any interval of ``t`` seconds at most ``rate * t + burst`` acquisitions are granted.

    :param rate: Tokens added per second (> 0).
    :param burst: Tokens the bucket holds when full (>= 1); it starts full.
    :param clock: Monotonic seconds (a fake clock in tests).
    :param sleep: How to wait (``asyncio.sleep``; a fake in tests).
    """

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if not (rate > 0 and math.isfinite(rate)):
            raise ValueError(f"rate must be a positive number of tokens per second, got {rate!r}")
        if not (burst >= 1 and math.isfinite(burst)):
            raise ValueError(f"burst must be at least 1 token, got {burst!r}")
        self.rate = float(rate)
        self.burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._updated = clock()

    def reserve(self, now: float) -> float:
        """Take one token at ``now`` and return the seconds to wait before using it (0 when one was free).

        Tokens may go negative: the debt is what earlier reservations still wait for, so a later caller
        always waits longer than an earlier one (first come, first served).
        """
        self._refill(now)
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def refund(self, now: float) -> None:
        """Give back a reserved token that will not be used (its waiter was canceled)."""
        self._refill(now)
        self._tokens = min(self.burst, self._tokens + 1.0)

    def waiting_seconds(self, now: float) -> float:
        """How long a reservation made at ``now`` would wait (0 when a token is free); takes nothing."""
        self._refill(now)
        return 0.0 if self._tokens >= 1 else (1.0 - self._tokens) / self.rate

    async def acquire(self) -> None:
        """Wait for a token. Canceled while waiting, the token goes back to the bucket."""
        delay = self.reserve(self._clock())
        if delay <= 0:
            return
        try:
            await self._sleep(delay)
        except asyncio.CancelledError:
            self.refund(self._clock())
            raise

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._updated)
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
        self._updated = max(self._updated, now)
