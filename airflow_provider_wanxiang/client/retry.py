"""One retry policy for both transports: which failures to retry, and how long to wait.

The rule that matters is about money. The API has no idempotency key, so a create that reached the server
may have enqueued a paid task even if we never saw the answer. Create (and the OSS upload, which forbids
overwrites) is therefore retried only when the server *cannot* have enqueued it:

- HTTP 429 and 503: the gateway rejected it before enqueueing;
- a connection error before the request was sent (connection refused, DNS failure, connect timeout).

Never on 500/502/504, a read timeout or a connection dropped after sending: those surface to the caller.
Reads (get, list, upload policy) and cancel cannot create anything and are retried on every retryable
error (429, 5xx, transport errors). Errors that are not retryable (other 4xx, billing states) are raised at
once.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from airflow_provider_wanxiang.client.errors import TransportError, WanxiangError

__all__ = ["IDEMPOTENT_READ", "Retriable", "RetryPolicy", "may_have_enqueued"]


class Retriable(Protocol):
    """What the policy needs to know about a request: whether sending it twice can create or cost anything.

    :class:`~airflow_provider_wanxiang.client.protocol.HttpRequest` and ``UploadRequest`` are retriables;
    so is :data:`IDEMPOTENT_READ`, for reads that are not API requests (result downloads).
    """

    @property
    def idempotent(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class _Read:
    idempotent: bool = True


#: A plain GET of something that exists already (a result image): retried on every retryable error.
IDEMPOTENT_READ: Retriable = _Read()

_REJECTED_BEFORE_ENQUEUE = frozenset({429, 503})


def may_have_enqueued(error: WanxiangError) -> bool:
    """Whether a create that ended with ``error`` may still have enqueued (and will bill) a task.

    The ambiguous case: the request may have reached the service but its answer was lost or was a
    transient server error (500/502/504, a read timeout, a connection dropped after sending). Not ambiguous:
    a permanent refusal (4xx) or a rejection before enqueueing (429, 503, a connection never established).
    """
    if not error.retryable:
        return False
    if isinstance(error, TransportError):
        return error.request_sent
    return error.http_status not in _REJECTED_BEFORE_ENQUEUE


def _full_jitter(cap: float) -> float:
    return random.uniform(0.0, cap)


async def _asyncio_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded exponential backoff with full jitter, honouring ``Retry-After``.

    :param max_attempts: Total attempts per call, including the first (1 disables retries).
    :param base_delay: Backoff cap after the first failure, in seconds; doubles per attempt.
    :param max_delay: Upper bound of the backoff cap.
    :param respect_retry_after: Wait what the server asked (``Retry-After``) instead of the backoff.
    :param max_retry_after: Never wait longer than this for a ``Retry-After``, in seconds.
    :param sleep: How the sync client waits (inject a recorder in tests).
    :param async_sleep: How the async client waits, without blocking the event loop.
    :param jitter: Draws the actual delay in ``[0, cap]`` (full jitter spreads out synchronized clients).
    """

    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 30.0
    respect_retry_after: bool = True
    max_retry_after: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    async_sleep: Callable[[float], Awaitable[None]] = field(default=_asyncio_sleep, repr=False, compare=False)
    jitter: Callable[[float], float] = field(default=_full_jitter, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {self.max_attempts}")
        if self.base_delay < 0 or self.max_delay < 0 or self.max_retry_after < 0:
            raise ValueError("delays must be >= 0")

    def should_retry(self, error: WanxiangError, request: Retriable) -> bool:
        """Whether ``request`` may be sent again after ``error`` (ignoring the attempt budget)."""
        if not error.retryable:
            return False
        if request.idempotent:
            return True
        if isinstance(error, TransportError):
            return not error.request_sent
        return error.http_status in _REJECTED_BEFORE_ENQUEUE

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if retry_after is not None and self.respect_retry_after:
            return min(max(retry_after, 0.0), self.max_retry_after)
        cap = min(self.max_delay, self.base_delay * 2.0 ** max(attempt - 1, 0))
        return min(max(self.jitter(cap), 0.0), cap)

    def next_delay(self, error: WanxiangError, request: Retriable, attempt: int) -> float | None:
        """The wait before the next attempt, or ``None`` to give up and raise ``error``."""
        if attempt >= self.max_attempts or not self.should_retry(error, request):
            return None
        return self.delay(attempt, error.retry_after)
