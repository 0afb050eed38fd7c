"""The task store: lifecycle, scheduling and per-account limits.

No background work: each task's whole future (when it is scheduled, when it ends, how it ends) is fixed
at creation, and its status is *computed* from the clock whenever someone looks. That keeps thousands of
tasks cheap, makes timing exact and testable, and survives a stalled event loop. Only cancellation (and,
in queue mode, the re-scheduling it allows) changes a task after creation.
"""

from __future__ import annotations

import collections
import math
import random
from dataclasses import dataclass, field

from airflow_provider_wanxiang.emulator.markers import Markers
from airflow_provider_wanxiang.emulator.validation import SEED_MAX, CreateSpec

PENDING, RUNNING, SUCCEEDED, FAILED, CANCELED, UNKNOWN = (
    "PENDING",
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
    "CANCELED",
    "UNKNOWN",
)
FINAL_STATUSES = (SUCCEEDED, FAILED, CANCELED)
#: Every status the reference documents (what the list endpoint's ``status`` filter accepts).
TASK_STATUSES = (PENDING, RUNNING, SUCCEEDED, FAILED, CANCELED, UNKNOWN)


@dataclass
class Task:
    """One remote task and its precomputed schedule (epoch seconds on the emulator clock)."""

    task_id: str
    account: str
    api_key: str
    request_id: str
    seq: int
    spec: CreateSpec
    input_ids: tuple[str, ...]
    output_size: tuple[int, int]
    seed: int
    created: float
    ready_at: float  # when it would start if a slot were free
    run_seconds: float
    start: float  # scheduled_time (later than ready_at when queued behind the concurrency limit)
    fail_code: str | None
    failed_images: int  # per-image DataInspectionFailed count (``[partial:K]``), clipped to n
    canceled_at: float | None = None

    @property
    def end(self) -> float:
        return self.start + self.run_seconds

    @property
    def n(self) -> int:
        return self.spec.n

    def outcome(self) -> str:
        """How the task ends if nobody cancels it."""
        if self.fail_code is not None or self.failed_images >= self.n:
            return FAILED
        return SUCCEEDED

    def status_at(self, now: float, task_ttl: float) -> str:
        if now >= self.created + task_ttl:
            return UNKNOWN
        if self.canceled_at is not None:
            return CANCELED
        if now < self.start:
            return PENDING
        if now < self.end:
            return RUNNING
        return self.outcome()

    def occupies_slot(self, now: float) -> bool:
        """PENDING or RUNNING: counts against the account's concurrency limit."""
        return self.canceled_at is None and now < self.end

    def succeeded_images(self) -> int:
        return 0 if self.outcome() == FAILED else self.n - self.failed_images


def draw_run_seconds(rng: random.Random, median: float, spread: float) -> float:
    """A lognormal run time with the given median: most tasks near it, a long tail of slow ones."""
    if median <= 0:
        return 0.0
    return median * math.exp(spread * rng.gauss(0.0, 1.0))


@dataclass
class Schedule:
    """The per-task draws that depend on the seed knob (kept together so they stay reproducible)."""

    total_seconds: float
    pending_seconds: float
    seed: int


def plan_task(
    seed_knob: int,
    seq: int,
    spec: CreateSpec,
    markers: Markers,
    median: float,
    spread: float,
    pending_fraction: float,
) -> Schedule:
    """Deterministic for (seed knob, task sequence number): same emulator seed → same timings."""
    rng = random.Random(f"wanxiang-emulator/{seed_knob}/{seq}")
    total = markers.seconds if markers.seconds is not None else draw_run_seconds(rng, median, spread)
    seed = spec.seed if spec.seed is not None else rng.randint(0, SEED_MAX)
    return Schedule(total_seconds=total, pending_seconds=total * pending_fraction, seed=seed)


class RateWindow:
    """Sliding one-second windows per (account, bucket): the service counts requests per second."""

    def __init__(self) -> None:
        self._hits: dict[tuple[str, str], collections.deque[float]] = {}

    def allow(self, account: str, bucket: str, now: float, per_second: float) -> bool:
        """Record a hit and return True, or return False (not recorded) if the window is full."""
        if per_second <= 0:
            return True
        hits = self._hits.setdefault((account, bucket), collections.deque())
        while hits and hits[0] <= now - 1.0:
            hits.popleft()
        if len(hits) >= per_second:
            return False
        hits.append(now)
        return True

    def clear(self) -> None:
        self._hits.clear()


@dataclass
class TaskStore:
    """All tasks by id, plus the per-account order used for scheduling."""

    tasks: dict[str, Task] = field(default_factory=dict)
    by_account: dict[str, list[Task]] = field(default_factory=dict)
    next_seq: int = 0

    def clear(self) -> None:
        self.tasks.clear()
        self.by_account.clear()
        self.next_seq = 0

    def take_seq(self) -> int:
        self.next_seq += 1
        return self.next_seq

    def active(self, account: str, now: float) -> int:
        """How many of the account's tasks are PENDING or RUNNING now."""
        return sum(1 for t in self.by_account.get(account, ()) if t.occupies_slot(now))

    def at_capacity(self, account: str, now: float, max_concurrent: int) -> bool:
        """Whether the account holds ``max_concurrent`` active tasks; answered without scanning them while
        it has fewer tasks in all (a scale run of 10,000 creates would otherwise scan 10,000 tasks each)."""
        if len(self.by_account.get(account, ())) < max_concurrent:
            return False
        return self.active(account, now) >= max_concurrent

    def add(self, task: Task, now: float, max_concurrent: int, queue: bool) -> None:
        """Store a task; in queue mode, push its start back until a concurrency slot is free."""
        if queue:
            others = [t for t in self.by_account.get(task.account, ()) if t.occupies_slot(now)]
            task.start = _first_free_slot(task.ready_at, others, max_concurrent)
        self.tasks[task.task_id] = task
        self.by_account.setdefault(task.account, []).append(task)

    def cancel(self, task: Task, now: float, max_concurrent: int, queue: bool) -> None:
        """Cancel a PENDING task; in queue mode the tasks queued behind it move up."""
        task.canceled_at = now
        if not queue:
            return
        account_tasks = self.by_account.get(task.account, [])
        placed = [t for t in account_tasks if t.occupies_slot(now) and t.start <= now]
        waiting = [t for t in account_tasks if t.occupies_slot(now) and t.start > now]
        for queued in sorted(waiting, key=lambda t: t.seq):
            queued.start = _first_free_slot(max(queued.ready_at, now), placed, max_concurrent)
            placed.append(queued)

    def visible(self, task_id: str, account: str) -> Task | None:
        """A task is only visible to keys of the account that created it."""
        task = self.tasks.get(task_id)
        if task is None or task.account != account:
            return None
        return task


def _first_free_slot(ready_at: float, others: list[Task], limit: int) -> float:
    """Earliest start >= ready_at with fewer than ``limit`` of ``others`` still running.

    FIFO: never before an earlier task's start. From that floor on, earlier tasks only *end*, so the
    answer is the floor, or the moment the (m - limit + 1)-th of the m later ends frees a slot.
    """
    floor = max([ready_at, *(t.start for t in others)])
    ends = sorted(t.end for t in others if t.end > floor)
    if len(ends) < limit:
        return floor
    return ends[len(ends) - limit]
