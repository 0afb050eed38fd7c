"""The batch loop: keep up to ``max_concurrent`` remote edits in flight, store each result as it finishes.

Why a loop of our own rather than mapped tasks: the account's concurrency slots are the bottleneck, and
Airflow loses seconds per slot between one task ending and the next being submitted. Here the next item is
submitted as soon as a slot frees, creates are paced by a token bucket (``submit_rps``), and everything runs
in one event loop with one HTTP session.

One wave (:meth:`BatchEngine.run`) starts from the ledger (:mod:`.ledger`): items already done are skipped,
remote tasks of earlier waves or killed tries are re-attached, the rest are submitted. It ends when every
item has ended, or, with ``linger`` set (the deferrable operator), when the window is full, nothing finished
for ``linger`` seconds and it is time to give the worker slot back: the caller then defers on the in-flight
task ids and runs the next wave when one finishes. The same code is the resume path after a kill.

Money rules: an ``intent`` is durable in the ledger before each create; a create is retried only when the
server cannot have enqueued it (a 429 shrinks the window and backs off, the item waits its turn again).
A create the server may have enqueued although it failed (a 500/502/504, an answer lost after sending:
:func:`~airflow_provider_wanxiang.client.retry.may_have_enqueued`, the rule the client's own retries keep)
is *unconfirmed*: its intent stays, named, and it is not submitted again within the same try — the next try
or run submits it again and names it as an ambiguous create, as the submit operator's retry does. A failed
edit is resubmitted only when
:func:`~airflow_provider_wanxiang.client.error_codes.is_retryable_by_resubmit` says a new paid attempt
can help; ``max_images`` is checked before the first create and before every create after it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from airflow_provider_wanxiang.batch.items import Catalogue, ItemPlan
from airflow_provider_wanxiang.batch.ledger import Entry, ItemStatus, Ledger
from airflow_provider_wanxiang.batch.progress import PROGRESS_EVERY, Progress
from airflow_provider_wanxiang.client import (
    AuthenticationError,
    ClientConfig,
    EditRequest,
    PermissionDeniedError,
    RetryPolicy,
    Task,
    TaskStatus,
    UnsupportedOperationError,
    WanxiangError,
    WanxiangValidationError,
)
from airflow_provider_wanxiang.client.async_client import AsyncWanxiangClient, open_session
from airflow_provider_wanxiang.client.error_codes import is_retryable_by_resubmit
from airflow_provider_wanxiang.client.pacing import TokenBucket
from airflow_provider_wanxiang.client.retry import may_have_enqueued
from airflow_provider_wanxiang.polling import Log

__all__ = [
    "AMBIGUOUS_CODE",
    "BUDGET_CODE",
    "COPY_FAILED_CODE",
    "BatchEngine",
    "BatchSettings",
    "Copier",
    "WaveResult",
]

_log = logging.getLogger(__name__)

#: Codes the batch itself gives an item (the others are the server's).
COPY_FAILED_CODE = "CopyFailed"  #: the remote task succeeded but a result could not be stored
BUDGET_CODE = "BudgetExhausted"  #: ``max_images`` left no room for the item
#: a create that failed after sending (lost answer, 500/502/504): the task may exist and be billed
AMBIGUOUS_CODE = "CreateUnconfirmed"
INVALID_CODE = "InvalidInput"  #: the item stopped validating between validation and submission
#: its remote task outlived ``task_timeout``: canceled if it was PENDING; a later wave re-attaches to it
TIMEOUT_CODE = "TaskTimeout"
_STATUS_CODES = {TaskStatus.CANCELED: "Canceled", TaskStatus.UNKNOWN: "Unknown"}
_RESUBMIT_STATUS_CODES = frozenset(_STATUS_CODES.values())
#: Most items whose intents are recorded in one ledger flush.
_MAX_GROUP = 64
#: A 429 on create: the longest pause before the item is tried again.
_MAX_BACKOFF = 30.0

#: Copies one finished task's successful images for ``key``, then removes the item's superseded images
#: (the third argument) it did not rewrite: ``(outputs, error)`` with ``outputs`` the ``(index, bytes)``
#: stored and ``error`` the copy errors' text (``None`` when all were stored).
Copier = Callable[[Task, str, Sequence[int]], tuple[list[tuple[int, int]], str | None]]


@dataclass(frozen=True)
class BatchSettings:
    """The knobs of one batch (the operator's arguments, typed)."""

    max_concurrent: int = 5
    submit_rps: float = 5.0
    max_images: int | None = None
    poll_interval: float = 1.0
    #: Extra paid attempts per item and run when a failure is worth resubmitting.
    resubmit_attempts: int = 1
    #: ``None``: run until every item ended. A number: stop for deferral after this many quiet seconds.
    linger: float | None = None
    progress_every: float = PROGRESS_EVERY
    #: Consecutive failed status queries of one task before its item is reported (and left to a later run).
    error_budget: int = 8
    #: ``None``: wait for each remote task as long as it takes. Seconds: stop waiting for a remote task this
    #: long after this wave created (or re-attached to) it, cancel it if still PENDING, report the item.
    task_timeout: float | None = None
    run_id: str = "run"
    #: Whether an unconfirmed create of this run (see the module docstring) is submitted again: ``True`` in
    #: the first wave of a try (a retry is the user's consent to pay again), ``False`` in the waves after it.
    resubmit_unconfirmed: bool = True


@dataclass
class WaveResult:
    """How a wave ended: ``finished`` (every item ended) or stopped with ``in_flight`` task ids to wait on."""

    finished: bool
    in_flight: list[str] = field(default_factory=list)
    created: int = 0
    ambiguous: list[str] = field(default_factory=list)


class _Window:
    """The in-flight window: ``limit`` slots (shrunk by a concurrency 429, grown back as tasks end)."""

    def __init__(self, maximum: int) -> None:
        self.maximum = maximum
        self.limit = maximum
        self.used = 0
        self._changed = asyncio.Condition()

    async def acquire(self) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self.used < self.limit)
            self.used += 1

    async def release(self, *, grow: bool = False) -> None:
        async with self._changed:
            self.used -= 1
            if grow:
                self.limit = min(self.maximum, self.limit + 1)
            self._changed.notify_all()

    def try_acquire(self) -> bool:
        """Take a slot if one is free now (never waits)."""
        if self.used < self.limit:
            self.used += 1
            return True
        return False

    async def shrink(self) -> None:
        """The server refused one more: it holds fewer slots for us than ``limit`` (others use some)."""
        async with self._changed:
            self.limit = max(1, min(self.limit, self.used - 1))

    @property
    def full(self) -> bool:
        return self.used >= self.limit


class _CreatePacer:
    """At most ``submit_rps`` creates per second *as the server counts them*, whatever the network does.

    A token bucket spaces the sends evenly, but a server counts arrivals in a sliding one-second window, and
    a delayed request can arrive bunched with the next ones. So, on top of the bucket, create ``j`` is sent
    only once create ``j - k`` has been *answered* and a window (``k / rps``, at least 1 s) has passed since:
    an answer comes after the arrival, so the server never sees more than ``k`` creates in its window
    (``k`` = ``submit_rps`` rounded down, at least 1).
    """

    def __init__(self, rps: float) -> None:
        self.k = max(1, int(rps))
        self.window = max(1.0, self.k / rps)
        self._bucket = TokenBucket(rps)
        self._answers: collections.deque[asyncio.Future[float]] = collections.deque()

    async def acquire(self) -> asyncio.Future[float]:
        """Wait for a send slot; resolve the returned future with the loop time of the answer."""
        loop = asyncio.get_running_loop()
        if len(self._answers) >= self.k:
            answered = await self._answers.popleft()
            delay = answered + self.window - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        await self._bucket.acquire()
        answer: asyncio.Future[float] = loop.create_future()
        self._answers.append(answer)
        return answer


class BatchEngine:
    """One wave of a batch over ``plans`` (validated items) against one destination's ``ledger``.

    :param done_outputs: whether an item's recorded outputs are all still in place (skip check).
    """

    def __init__(
        self,
        *,
        catalogue: Catalogue,
        plans: list[ItemPlan],
        ledger: Ledger,
        config: ClientConfig,
        copier: Copier,
        settings: BatchSettings,
        done_outputs: Callable[[str, Entry], bool] = lambda key, entry: True,
        log: Log = _log,
    ) -> None:
        self.catalogue = catalogue
        self.plans = plans
        self.ledger = ledger
        self.config = config
        self.copier = copier
        self.settings = settings
        self.done_outputs = done_outputs
        self.log = log
        self._fingerprints = {plan.key: plan for plan in plans}
        self.progress = Progress(len(plans), log, every=settings.progress_every)
        self._resubmits: collections.deque[str] = collections.deque()
        #: An item refused with a 429, kept with its request to be tried first once the backoff is over.
        self._held: collections.deque[tuple[str, EditRequest | WanxiangValidationError]] = collections.deque()
        self._spent_images = 0
        self._watchers: dict[str, asyncio.Task[None]] = {}  # task id -> watcher
        self._changed = asyncio.Event()
        self._waiters_for_change: set[asyncio.Event] = set()
        self._busy = 0  # creates and copies under way (a wave never stops in the middle of one)
        self._quiet_since = 0.0
        self._fatal: BaseException | None = None
        self.created = 0

    # -- planning ------------------------------------------------------------------------------------------
    def _spent(self) -> int:
        run = self.settings.run_id
        return sum(e.requested for e in self.ledger.entries.values() if e.run == run)

    def classify(self, ambiguous: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
        """Split the items into those to submit and ``(key, task id)`` to re-attach; count the rest.

        :raises WanxiangValidationError: (``max_images``) before the first create of the run when the items
            to submit ask for more images than the budget left.
        """
        to_submit: list[str] = []
        attach: list[tuple[str, str]] = []
        run = self.settings.run_id
        self.progress.images = sum(e.images for e in self.ledger.entries.values() if e.run == run)
        for plan in self.plans:
            entry = self.ledger.entries.get(plan.key)
            if entry is None or entry.fingerprint != plan.fingerprint:
                to_submit.append(plan.key)
            elif entry.status is ItemStatus.SUCCEEDED:
                if self.done_outputs(plan.key, entry):
                    self.progress.done += 1
                elif entry.task_id is not None:
                    attach.append((plan.key, entry.task_id))  # results gone: copy them again (24 h)
                else:
                    to_submit.append(plan.key)
            elif entry.status is ItemStatus.SUBMITTED and entry.task_id is not None:
                attach.append((plan.key, entry.task_id))
            elif entry.status is ItemStatus.FAILED:
                # Its remote task exists (and is paid): read it again rather than pay for a new one.
                if entry.code in (COPY_FAILED_CODE, TIMEOUT_CODE) and entry.task_id is not None:
                    attach.append((plan.key, entry.task_id))
                elif entry.retryable or entry.code in (BUDGET_CODE, INVALID_CODE):
                    to_submit.append(plan.key)
                else:
                    self.progress.failed += 1  # the same edit would fail the same way: reported, not paid
            elif self._unconfirmed_in_this_try(entry):
                self.progress.failed += 1  # created or not, only a new try pays for it again
            else:  # INTENT (ambiguous, named by the caller) or RELEASED
                to_submit.append(plan.key)
        resubmitted = set(to_submit)
        for key in ambiguous:
            if key not in resubmitted:
                continue
            unconfirmed = self.ledger.entries[key].code == AMBIGUOUS_CODE
            self.log.warning(
                "Wanxiang batch: item %r may have been created (and billed) %s (an ambiguous create); "
                "submitting it again",
                key,
                "by an earlier create whose answer was an error after sending"
                if unconfirmed
                else "by a process that was killed between recording its intent and its task id",
            )
        self._check_budget(to_submit)
        return to_submit, attach

    def _unconfirmed_in_this_try(self, entry: Entry) -> bool:
        return (
            entry.status is ItemStatus.INTENT
            and entry.code == AMBIGUOUS_CODE
            and entry.run == self.settings.run_id
            and not self.settings.resubmit_unconfirmed
        )

    def _check_budget(self, to_submit: list[str]) -> None:
        maximum = self.settings.max_images
        if maximum is None:
            return
        wanted = sum(self._fingerprints[key].n for key in to_submit)
        spent = self._spent_images = self._spent()
        if spent == 0 and wanted > maximum:
            raise WanxiangValidationError(
                "max_images",
                maximum,
                f"at least the {wanted} images the {len(to_submit)} items to edit ask for",
                f"the {len(to_submit)} items to edit ask for {wanted} images, more than "
                f"max_images={maximum}; "
                "nothing was submitted (raise max_images or edit fewer items)",
            )

    # -- the wave ----------------------------------------------------------------------------------------
    async def run(self, ambiguous: list[str] | None = None) -> WaveResult:
        """Run one wave (see the module docstring); the ledger is flushed and compacted on the way out."""
        to_submit, attach = self.classify(ambiguous or [])
        settings = self.settings
        self._loop = asyncio.get_running_loop()
        session = open_session(self.config, connections=settings.max_concurrent + 4)
        single = dataclasses.replace(self.config, retry=RetryPolicy(max_attempts=1))
        self._creator = AsyncWanxiangClient(single, session=session)
        self._reader = AsyncWanxiangClient(self.config, session=session)
        self._window = _Window(settings.max_concurrent)
        self._submits = _CreatePacer(settings.submit_rps)
        self._queries = TokenBucket(self.config.query_budget)
        self._pending: Iterator[tuple[str, EditRequest | WanxiangValidationError]] = self.catalogue.requests(
            set(to_submit)
        )
        self._pending_done = not to_submit
        self.progress.start()
        self._quiet_since = asyncio.get_running_loop().time()
        try:
            for key, task_id in attach:
                await self._window.acquire()
                self._start_watch(key, task_id, first_delay=0.0)
            submitter = asyncio.ensure_future(self._submit_loop())
            result = await self._supervise(submitter)
        finally:
            for watcher in list(self._watchers.values()):
                watcher.cancel()
            await asyncio.gather(*self._watchers.values(), return_exceptions=True)
            await self.ledger.close()
            await session.close()
        self.progress.maybe_log(force=True)
        if self._fatal is not None:
            raise self._fatal
        result.created = self.created
        result.ambiguous = list(ambiguous or [])
        return result

    async def _supervise(self, submitter: asyncio.Future[None]) -> WaveResult:
        linger = self.settings.linger
        loop = asyncio.get_running_loop()
        while True:
            self.progress.in_flight = len(self._watchers)
            self.progress.maybe_log()
            if self._fatal is not None:
                submitter.cancel()
                await asyncio.gather(submitter, return_exceptions=True)
                return WaveResult(finished=False)
            if submitter.done() and not self._watchers:
                submitter.result()
                return WaveResult(finished=True)
            if linger is not None and self._busy == 0 and self._watchers:
                nothing_to_add = self._window.full or (
                    self._pending_done and not self._resubmits and not self._held
                )
                if nothing_to_add and loop.time() - self._quiet_since >= linger:
                    submitter.cancel()
                    await asyncio.gather(submitter, return_exceptions=True)
                    return WaveResult(finished=False, in_flight=list(self._watchers))
            self._changed.clear()
            timeout = min(1.0, linger if linger is not None else 1.0)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout)

    def _notify(self) -> None:
        self._changed.set()

    def in_flight(self) -> list[str]:
        """The remote task ids in flight now (a snapshot; safe to call from another thread)."""
        return list(self._watchers)

    def stop(self, reason: BaseException) -> None:
        """End the wave from another thread (the task was killed): no new create, ``reason`` is raised.

        In-flight tasks stay in the ledger; the caller cancels the PENDING ones, a retry re-attaches.
        """
        loop = getattr(self, "_loop", None)

        def stop_now() -> None:
            self._fatal = reason
            self._notify()

        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stop_now)

    # -- submitting --------------------------------------------------------------------------------------
    async def _next_item(self, *, wait: bool) -> tuple[str, EditRequest | WanxiangValidationError] | None:
        """The next item to submit: held back by a 429, then resubmissions, then the catalogue in order.

        ``None`` when nothing is left (``wait=True``: nothing will come any more; ``wait=False``: nothing
        is available right now).
        """
        while True:
            if self._held:
                return self._held.popleft()
            if self._resubmits:
                wanted = {self._resubmits.popleft()}
                found = await asyncio.to_thread(next, self.catalogue.requests(wanted), None)
                if found is not None:
                    return found
                continue
            if not self._pending_done:
                item = await asyncio.to_thread(next, self._pending, None)
                if item is not None:
                    return item
                self._pending_done = True
                self._notify()
            if not wait or (not self._watchers and self._busy == 0):
                return None
            await self._wait_change()

    async def _wait_change(self) -> None:
        event = asyncio.Event()
        self._waiters_for_change.add(event)
        try:
            await event.wait()
        finally:
            self._waiters_for_change.discard(event)

    def _wake_submitter(self) -> None:
        for event in self._waiters_for_change:
            event.set()
        self._notify()

    async def _submit_loop(self) -> None:
        """Fill free slots: a group of items gets its intents recorded in one flush, then is created one by
        one at the pacer's rate (a group is what is free at once, so under load the ledger writes one
        segment per group, not per item)."""
        backoff = 0
        while True:
            await self._window.acquire()
            first = await self._next_item(wait=True)
            if first is None:
                await self._window.release()
                return
            group = [first]
            while len(group) < _MAX_GROUP and self._window.try_acquire():
                item = await self._next_item(wait=False)
                if item is None:
                    await self._window.release()
                    break
                group.append(item)
            creatable = await self._screen(group)
            if not creatable:
                continue
            self._busy += 1
            try:
                throttled = await self._create_group(creatable)
            finally:
                self._busy -= 1
            if throttled:
                backoff += 1
                await asyncio.sleep(random.uniform(0.5, 1.0) * min(_MAX_BACKOFF, 2.0 ** (backoff - 1)))
            else:
                backoff = 0

    async def _screen(
        self, group: list[tuple[str, EditRequest | WanxiangValidationError]]
    ) -> list[tuple[str, EditRequest]]:
        """Drop (and end) the items that no longer validate or would pass ``max_images``."""
        creatable: list[tuple[str, EditRequest]] = []
        planned = 0
        for key, request in group:
            if isinstance(request, WanxiangValidationError):
                self._end(key, ItemStatus.FAILED, code=INVALID_CODE, message=str(request))
                await self._window.release()
            elif not self._within_budget(key, request.n + planned):
                await self._window.release()
            else:
                planned += request.n
                creatable.append((key, request))
        return creatable

    async def _create_group(self, group: list[tuple[str, EditRequest]]) -> bool:
        """Record the group's intents (one durable flush), then create each; ``True`` when throttled."""
        run = self.settings.run_id
        for key, _ in group:
            carried = self._carried(key)
            self.ledger.record(
                key,
                Entry(
                    self._fingerprints[key].fingerprint,
                    ItemStatus.INTENT,
                    run=run,
                    requested=carried.requested if carried else 0,
                    images=carried.images if carried else 0,
                ),
            )
        await self.ledger.flush()
        for position, (key, request) in enumerate(group):
            outcome = await self._create(key, request)
            if outcome == "throttled":
                for later_key, later_request in reversed(group[position:]):
                    if later_key != key:
                        self._release_intent(later_key)
                    self._held.appendleft((later_key, later_request))
                    await self._window.release()
                return True
            if outcome != "created":
                await self._window.release()
            if self._fatal is not None:  # every other create would fail the same way
                for later_key, _ in group[position + 1 :]:
                    self._release_intent(later_key)
                    await self._window.release()
                break
        return False

    def _carried(self, key: str) -> Entry | None:
        previous = self.ledger.entries.get(key)
        return previous if previous is not None and previous.run == self.settings.run_id else None

    def _release_intent(self, key: str) -> None:
        carried = self._carried(key)
        self.ledger.record(
            key,
            Entry(
                self._fingerprints[key].fingerprint,
                ItemStatus.RELEASED,
                run=self.settings.run_id,
                requested=carried.requested if carried else 0,
                images=carried.images if carried else 0,
            ),
        )

    def _within_budget(self, key: str, n: int) -> bool:
        maximum = self.settings.max_images
        if maximum is None or self._spent_images + n <= maximum:
            return True
        self.log.warning(
            "Wanxiang batch: item %r not submitted: its images would pass max_images=%d (%d requested "
            "in this run)",
            key,
            maximum,
            self._spent_images,
        )
        self._end(key, ItemStatus.FAILED, code=BUDGET_CODE, message=f"max_images={maximum} reached")
        return False

    async def _create(self, key: str, request: EditRequest) -> str:
        """Create (its intent is durable already) and record the task id.

        Returns ``created``, ``throttled`` or ``failed``.
        """
        carried = self._carried(key)
        requested = carried.requested if carried else 0
        images = carried.images if carried else 0
        fingerprint = self._fingerprints[key].fingerprint
        answered = await self._submits.acquire()
        try:
            created = await self._creator.create_task(request)
        except WanxiangError as err:
            return await self._create_failed(key, fingerprint, err, requested, images)
        finally:
            answered.set_result(asyncio.get_running_loop().time())
        self.created += 1
        self._spent_images += request.n
        self.ledger.record_soon(
            key,
            Entry(
                fingerprint,
                ItemStatus.SUBMITTED,
                task_id=created.task_id,
                run=self.settings.run_id,
                requested=requested + request.n,
                images=images,
            ),
        )
        self._start_watch(key, created.task_id, first_delay=self.settings.poll_interval)
        return "created"

    async def _create_failed(
        self, key: str, fingerprint: str, err: WanxiangError, requested: int, images: int
    ) -> str:
        run = self.settings.run_id
        released = Entry(fingerprint, ItemStatus.RELEASED, run=run, requested=requested, images=images)
        if isinstance(err, (AuthenticationError, PermissionDeniedError)):
            self.ledger.record(key, released)
            self._fatal = err  # every other item would fail the same way
            self._notify()
            return "failed"
        if may_have_enqueued(err):
            # It may exist and be billed: the intent stays, named, and its images count against max_images.
            n = self._fingerprints[key].n
            self.log.warning(
                "Wanxiang batch: create of item %r is unconfirmed (%s): the service may have created it "
                "(and will bill it); not submitting it again in this try (a retry or the next run does, "
                "naming it)",
                key,
                err,
            )
            message = f"the create's answer was lost or was a server error after sending: {err}"
            self.ledger.record(
                key,
                Entry(
                    fingerprint,
                    ItemStatus.INTENT,
                    code=AMBIGUOUS_CODE,
                    message=message,
                    run=run,
                    requested=requested + n,
                    images=images,
                ),
            )
            self._spent_images += n
            self.progress.failed += 1
            self._notify()
            return "failed"
        if err.retryable:
            if getattr(err, "http_status", None) == 429 and getattr(err, "code", None) == "Throttling":
                await self._window.shrink()
            self.log.info("Wanxiang batch: create of item %r refused for now (%s); backing off", key, err)
            self.ledger.record(key, released)
            return "throttled"
        code = getattr(err, "code", None) or type(err).__name__
        self._end(key, ItemStatus.FAILED, code=code, message=str(err), requested=requested, images=images)
        return "failed"

    # -- watching ----------------------------------------------------------------------------------------
    def _start_watch(self, key: str, task_id: str, *, first_delay: float) -> None:
        self._watchers[task_id] = asyncio.ensure_future(self._watch(key, task_id, first_delay))
        self.progress.in_flight = len(self._watchers)

    def _interval(self) -> float:
        return max(self.settings.poll_interval, len(self._watchers) / self.config.query_budget)

    async def _watch(self, key: str, task_id: str, delay: float) -> None:
        errors = 0
        loop = asyncio.get_running_loop()
        timeout = self.settings.task_timeout
        deadline = None if timeout is None else loop.time() + timeout
        try:
            while True:
                delay *= random.uniform(0.9, 1.1)
                if deadline is not None:
                    delay = max(0.0, min(delay, deadline - loop.time()))
                await asyncio.sleep(delay)
                delay = self._interval()
                await self._queries.acquire()
                try:
                    task = await self._reader.get_task(task_id)
                except WanxiangError as err:
                    errors += 1
                    if errors > self.settings.error_budget:
                        self.log.warning(
                            "Wanxiang batch: cannot read task %s of item %r: %s", task_id, key, err
                        )
                        self.progress.failed += 1
                        break
                    continue
                errors = 0
                if task.status.is_terminal:
                    self._busy += 1
                    try:
                        await self._finished(key, task)
                    finally:
                        self._busy -= 1
                    break
                if deadline is not None and loop.time() >= deadline:
                    await self._timed_out(key, task)
                    break
        finally:
            if self._watchers.get(task_id) is asyncio.current_task():
                del self._watchers[task_id]
        await self._window.release(grow=True)
        self._quiet_since = asyncio.get_running_loop().time()
        self._wake_submitter()

    async def _timed_out(self, key: str, task: Task) -> None:
        """The remote task outlived ``task_timeout``: cancel it if PENDING (not billed), report the item.

        A RUNNING task cannot be canceled and is billed anyway: its id stays in the ledger, so a later wave
        (a retry, the next run) re-attaches to it and stores its results instead of paying again.
        """
        canceled = False
        if task.status is TaskStatus.PENDING:
            try:
                await self._creator.cancel_task(task.task_id)
                canceled = True
            except UnsupportedOperationError:
                pass  # it started meanwhile
            except WanxiangError as err:
                self.log.warning("Wanxiang batch: could not cancel task %s: %s", task.task_id, err)
        message = f"no result within task_timeout={self.settings.task_timeout:g} s; " + (
            "canceled while PENDING (not billed)"
            if canceled
            else f"it was {task.status.value} and could not be canceled; a later run re-attaches to it"
        )
        self._end(key, ItemStatus.FAILED, task_id=task.task_id, code=TIMEOUT_CODE, message=message)
        self.log.warning("Wanxiang batch: item %r (task %s): %s", key, task.task_id, message)

    async def _finished(self, key: str, task: Task) -> None:
        previous = self.ledger.entries.get(key)
        requested = previous.requested if previous is not None and previous.run == self.settings.run_id else 0
        billed = (previous.images if previous is not None and previous.run == self.settings.run_id else 0) + (
            task.usage.image_count if task.usage else 0
        )
        self.progress.images += task.usage.image_count if task.usage else 0
        if task.status is TaskStatus.SUCCEEDED:
            superseded = previous.superseded if previous is not None else ()
            outputs, error = await asyncio.to_thread(self.copier, task, key, superseded)
            if error is not None:
                self._end(
                    key,
                    ItemStatus.FAILED,
                    task_id=task.task_id,
                    code=COPY_FAILED_CODE,
                    message=error,
                    requested=requested,
                    images=billed,
                )
                return
            failed = task.failed_images
            self._end(
                key,
                ItemStatus.SUCCEEDED,
                task_id=task.task_id,
                code=failed[0].code if failed else None,
                message=f"{len(failed)} of {len(task.results)} images failed: {failed[0].message}"
                if failed
                else None,
                outputs=tuple(outputs),
                requested=requested,
                images=billed,
            )
            return
        code = task.code or _STATUS_CODES.get(task.status) or task.status.value
        retryable = code in _RESUBMIT_STATUS_CODES or is_retryable_by_resubmit(code)
        n = self._fingerprints[key].n
        again = retryable and requested < (self.settings.resubmit_attempts + 1) * n
        self._end(
            key,
            ItemStatus.FAILED,
            task_id=task.task_id,
            code=code,
            message=task.message or f"the remote task ended {task.status.value}",
            retryable=retryable,
            requested=requested,
            images=billed,
            final=not again,
        )
        if again:
            self.log.info(
                "Wanxiang batch: item %r failed with %s, which a new attempt can fix; resubmitting", key, code
            )
            self._resubmits.append(key)
        else:
            self.log.warning("Wanxiang batch: item %r failed: %s: %s", key, code, task.message)

    def _end(
        self,
        key: str,
        status: ItemStatus,
        *,
        task_id: str | None = None,
        code: str | None = None,
        message: str | None = None,
        retryable: bool = False,
        outputs: tuple[tuple[int, int], ...] = (),
        requested: int | None = None,
        images: int | None = None,
        final: bool = True,
    ) -> None:
        previous = self.ledger.entries.get(key)
        same_run = previous is not None and previous.run == self.settings.run_id
        entry = Entry(
            self._fingerprints[key].fingerprint,
            status,
            task_id=task_id,
            code=code,
            message=message,
            retryable=retryable,
            outputs=outputs,
            images=images if images is not None else (previous.images if same_run and previous else 0),
            run=self.settings.run_id,
            requested=requested
            if requested is not None
            else (previous.requested if same_run and previous else 0),
        )
        # Not flushed now: a lost end record only means a later wave re-reads the task (and keeps the
        # stored images); the next flush (an intent, a task id, the end of the wave) carries it.
        self.ledger.record(key, entry)
        if final:
            if status is ItemStatus.SUCCEEDED:
                self.progress.done += 1
            else:
                self.progress.failed += 1
        self._notify()
