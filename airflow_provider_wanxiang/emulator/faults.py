"""Fault injection: scripted (deterministic, per route) and random (seeded rate).

Clients must survive throttling, 5xx and dropped connections without paying twice. Scripted faults let a
test say exactly "the next get answers 503 with Retry-After: 2, then the connection drops"; the random
rate exercises retry loops at scale and is seeded so a failing run can be replayed.
"""

from __future__ import annotations

import collections
import math
import random
from dataclasses import dataclass
from typing import Any

from airflow_provider_wanxiang.emulator import catalog

ROUTES = ("create", "get", "cancel", "list", "upload_policy", "upload", "result")
ANY_ROUTE = "*"
#: Routes the random ``fault_rate`` applies to: the DashScope API requests (not OSS uploads/downloads).
RANDOM_FAULT_ROUTES = frozenset({"create", "get", "cancel", "list", "upload_policy"})
#: The route ``download_fault_rate`` applies to: result image downloads (OSS).
DOWNLOAD_ROUTE = "result"

_DEFAULT_CODES = {
    429: "Throttling.RateQuota",
    500: "InternalError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour. ``delay`` alone slows a request that then proceeds normally."""

    status: int | None = None
    code: str | None = None
    message: str | None = None
    retry_after: float | None = None
    drop: bool = False
    delay: float = 0.0
    #: create only: store the task first, then fail (the duplicate-submit hazard).
    after_enqueue: bool = False
    #: result downloads only: send the headers and half the body, then reset the connection (a transfer
    #: cut mid-way; the client sees fewer bytes than ``Content-Length`` announced).
    cut: bool = False

    @property
    def answers(self) -> bool:
        """True if the fault replaces the normal answer (an error status or a dropped connection)."""
        return self.drop or self.status is not None or self.cut

    def error_code(self) -> str:
        if self.code:
            return self.code
        assert self.status is not None
        return _DEFAULT_CODES.get(self.status, "InvalidParameter" if self.status < 500 else "InternalError")

    def error_message(self) -> str:
        return self.message or catalog.message_for(self.error_code())


def parse_fault(obj: Any) -> Fault:
    """Validate one scripted fault from JSON; ``ValueError`` explains what is wrong."""
    if not isinstance(obj, dict):
        raise ValueError("each fault must be an object")
    known = {"status", "code", "message", "retry_after", "drop", "delay", "after_enqueue", "cut"}
    unknown = set(obj) - known
    if unknown:
        raise ValueError(f"unknown fault fields: {sorted(unknown)}")
    status = obj.get("status")
    if status is not None and (
        isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599
    ):
        raise ValueError("status must be an HTTP error status (400-599)")
    delay = obj.get("delay", 0.0)
    retry_after = obj.get("retry_after")
    for name, value in (("delay", delay), ("retry_after", retry_after)):
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or value < 0
            or not math.isfinite(value)
        ):
            raise ValueError(f"{name} must be a number >= 0")
    for name in ("code", "message"):
        if obj.get(name) is not None and not isinstance(obj[name], str):
            raise ValueError(f"{name} must be a string")
    drop = obj.get("drop", False)
    after_enqueue = obj.get("after_enqueue", False)
    cut = obj.get("cut", False)
    if not all(isinstance(flag, bool) for flag in (drop, after_enqueue, cut)):
        raise ValueError("drop, after_enqueue and cut must be booleans")
    fault = Fault(
        status=status,
        code=obj.get("code"),
        message=obj.get("message"),
        retry_after=None if retry_after is None else float(retry_after),
        drop=drop,
        delay=float(delay),
        after_enqueue=after_enqueue,
        cut=cut,
    )
    if not fault.answers and fault.delay == 0:
        raise ValueError("a fault needs status, drop or delay")
    return fault


class FaultPlan:
    """Queued scripted faults per route, and the seeded generator for random ones."""

    def __init__(self, seed: int) -> None:
        self._queues: dict[str, collections.deque[Fault]] = {}
        self._rng = random.Random(f"wanxiang-emulator-faults/{seed}")

    def reset(self, seed: int) -> None:
        self._queues.clear()
        self._rng = random.Random(f"wanxiang-emulator-faults/{seed}")

    def reset_queues(self) -> None:
        """Drop every queued scripted fault (the random generator keeps its position)."""
        self._queues.clear()

    def push(self, route: str, faults: list[Fault]) -> None:
        if route != ANY_ROUTE and route not in ROUTES:
            raise ValueError(f"route must be one of {[*ROUTES, ANY_ROUTE]}")
        self._queues.setdefault(route, collections.deque()).extend(faults)

    def pending(self) -> dict[str, int]:
        return {route: len(queue) for route, queue in self._queues.items() if queue}

    def next_scripted(self, route: str) -> Fault | None:
        """The next queued fault for ``route`` (route-specific queue first, then ``*``)."""
        for key in (route, ANY_ROUTE):
            queue = self._queues.get(key)
            if queue:
                return queue.popleft()
        return None

    def random_fault(
        self,
        route: str,
        rate: float,
        retry_after: float | None,
        *,
        slow_seconds: float = 0.0,
        download_rate: float = 0.0,
    ) -> Fault | None:
        """With probability ``rate`` (``download_rate`` for result downloads): a transient 429, 500, 503 or
        dropped connection; also a slow answer (``slow_seconds`` late, then normal) when ``slow_seconds``
        is set, and for a download a transfer cut mid-body."""
        if route == DOWNLOAD_ROUTE:
            rate = download_rate
        elif route not in RANDOM_FAULT_ROUTES:
            return None
        if rate <= 0 or self._rng.random() >= rate:
            return None
        kinds: list[int | str] = [429, 500, 503, "drop"]
        if slow_seconds > 0:
            kinds.append("slow")
        if route == DOWNLOAD_ROUTE:
            kinds.append("cut")
        kind = self._rng.choice(kinds)
        if kind == "drop":
            return Fault(drop=True)
        if kind == "slow":
            return Fault(delay=slow_seconds)
        if kind == "cut":
            return Fault(cut=True)
        assert isinstance(kind, int)
        return Fault(status=kind, retry_after=retry_after if kind in (429, 503) else None)

    def random_after_enqueue(self, rate: float) -> Fault | None:
        """With probability ``rate``: a 500 or dropped connection *after* the task was stored."""
        if rate <= 0 or self._rng.random() >= rate:
            return None
        return Fault(drop=True) if self._rng.random() < 0.5 else Fault(status=500)
