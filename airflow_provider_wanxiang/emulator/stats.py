"""Counters for tests and benchmarks (``GET /_emulator/stats``).

Tests assert on *what the server saw* (one create, not two; polls per task; no request beyond the rate
limit), which the client cannot fake. Per-status counts are computed from the task store on demand, since
task states are computed lazily from the clock.
"""

from __future__ import annotations

import asyncio
import collections
import math
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_wanxiang.emulator.state import FINAL_STATUSES, Task


@dataclass
class Stats:
    requests: int = 0
    tasks_created: int = 0
    task_queries: int = 0
    cancels: int = 0
    lists: int = 0
    upload_policies: int = 0
    uploads: int = 0
    result_downloads: int = 0
    faults_injected: int = 0
    #: Requests outside the API and OSS routes (control endpoints, unknown paths answered 404): lets a
    #: benchmark count the polls of a client that can only poll a URL until it stops answering 404.
    other_requests: int = 0
    rejected: collections.Counter[str] = field(default_factory=collections.Counter)
    faults_by_route: collections.Counter[str] = field(default_factory=collections.Counter)
    #: Requests answered normally but late by a random "slow answer" fault (``fault_slow_seconds``).
    slowed_by_route: collections.Counter[str] = field(default_factory=collections.Counter)
    #: Connections that carried an API request since the last reset (tests count the client's sockets).
    connections_opened: int = 0
    #: Those connections by the client's address; closed ones are pruned when counted.
    _connections: dict[Any, asyncio.BaseTransport] = field(default_factory=dict)

    def saw_connection(self, transport: asyncio.BaseTransport | None) -> None:
        """Count the connection of ``transport`` the first time it carries a request."""
        if transport is None:
            return
        peer = transport.get_extra_info("peername")
        if self._connections.get(peer) is not transport:  # a new socket (or a reused client port)
            self._connections[peer] = transport
            self.connections_opened += 1

    def connections_open(self) -> int:
        """Counted connections whose socket is still open."""
        self._connections = {p: t for p, t in self._connections.items() if not t.is_closing()}
        return len(self._connections)

    def snapshot(self, tasks: list[Task], now: float) -> dict[str, Any]:
        final: dict[str, int] = dict.fromkeys(FINAL_STATUSES, 0)
        current: collections.Counter[str] = collections.Counter()
        images = 0
        for task in tasks:
            status = task.status_at(now, math.inf)  # expiry hides a task, it does not change its fate
            current[status] += 1
            if status in final:
                final[status] += 1
            if status == "SUCCEEDED":
                images += task.succeeded_images()
        return {
            "requests": self.requests,
            "tasks_created": self.tasks_created,
            "task_queries": self.task_queries,
            "cancels": self.cancels,
            "lists": self.lists,
            "upload_policies": self.upload_policies,
            "uploads": self.uploads,
            "result_downloads": self.result_downloads,
            "final_status": final,
            "status_now": dict(current),
            "images_succeeded": images,
            "rejected": dict(self.rejected),
            "faults_injected": self.faults_injected,
            "other_requests": self.other_requests,
            "faults_by_route": dict(self.faults_by_route),
            "slowed_by_route": dict(self.slowed_by_route),
            "connections_opened": self.connections_opened,
            "connections_open": self.connections_open(),
            "peak_concurrency": peak_concurrency(tasks),
            "peak_running": peak_concurrency(tasks, running_only=True),
            "peak_creates_per_second": peak_creates_per_second(tasks),
            "slot_gaps": slot_gaps(tasks, now),
        }


def peak_concurrency(tasks: list[Task], running_only: bool = False) -> int:
    """Most tasks of one account PENDING or RUNNING (or only RUNNING) at one moment.

    PENDING+RUNNING is what the reject-mode limit bounds; RUNNING is what queue mode bounds.
    """
    by_account: dict[str, list[tuple[float, int]]] = {}
    for task in tasks:
        if running_only and task.canceled_at is not None:
            continue  # only PENDING tasks can be cancelled: it never ran
        begin = task.start if running_only else task.created
        stop = task.canceled_at if task.canceled_at is not None else task.end
        if stop <= begin:
            continue
        events = by_account.setdefault(task.account, [])
        events.append((begin, 1))
        events.append((stop, -1))
    peak = 0
    for events in by_account.values():
        level = 0
        for _, delta in sorted(events):  # at equal times -1 sorts first: an end frees the slot
            level += delta
            peak = max(peak, level)
    return peak


def peak_creates_per_second(tasks: list[Task]) -> int:
    """Most creates of one account accepted within any one second (the window ``submit_rps`` limits).

    Counted from the accepted tasks' creation times, as the rate limiter counts them: a window ``(t - 1, t]``.
    """
    by_account: dict[str, list[float]] = {}
    for task in tasks:
        by_account.setdefault(task.account, []).append(task.created)
    peak = 0
    for times in by_account.values():
        times.sort()
        first = 0
        for last, now in enumerate(times):
            while times[first] <= now - 1.0:
                first += 1
            peak = max(peak, last - first + 1)
    return peak


def slot_gaps(tasks: list[Task], now: float) -> dict[str, float | int]:
    """How long the account's concurrency slots stayed idle between one task's end and the next create.

    Each ended (or canceled) task frees a slot; each create takes the slot freed longest ago (first in, first
    out) and its gap is ``create - freed``. Creates that found no freed slot (the first fill) count no gap.
    Benchmarks read it to compare ways of keeping a quota busy. Seconds; ``count`` gaps measured.
    """
    # (time, 0 = a create, 1 = a slot freed): at equal times the create comes first, so a task that ends the
    # instant it is created never takes its own slot.
    events: list[tuple[float, int]] = []
    for task in tasks:
        events.append((task.created, 0))
        stop = task.canceled_at if task.canceled_at is not None else task.end
        if stop <= now:
            events.append((stop, 1))
    freed: collections.deque[float] = collections.deque()
    gaps: list[float] = []
    for moment, kind in sorted(events):
        if kind == 1:
            freed.append(moment)
        elif freed:
            gaps.append(moment - freed.popleft())
    if not gaps:
        return {"count": 0, "mean": 0.0, "max": 0.0}
    return {"count": len(gaps), "mean": round(sum(gaps) / len(gaps), 4), "max": round(max(gaps), 4)}
