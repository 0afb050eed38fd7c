"""Deferrable waiting on one remote Wanxiang task, in the triggerer.

The trigger only polls; submission always happens in the worker, so a triggerer restart (which re-creates the
trigger from its kwargs and runs it again) can never pay for a second edit. It is pure asyncio: the
connection is resolved without blocking the event loop, every wait of a connection in the triggerer shares
one HTTP pool (:mod:`~airflow_provider_wanxiang.client.shared`: a few keep-alive sockets, however many
waits), and every sleep is ``asyncio.sleep``.

Trigger-kwargs policy: Airflow stores a deferred task's trigger kwargs (:meth:`WanxiangTaskTrigger.serialize`)
in its database and re-creates the trigger from them, possibly in a triggerer running a newer release of
this provider than the worker that deferred. So kwargs of an in-flight trigger must always still build the
trigger after an upgrade: a new kwarg gets a default (old kwargs lack it), and none is renamed or removed
without a deprecation path (accept the old name, and keep accepting it for as long as a trigger written by a
release that used it can still be in flight). ``tests/unit/test_trigger_kwargs.py`` pins the kwargs of
every release and is kept forever.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_wanxiang.client import (
    ClientConfig,
    DeadlineExceededError,
    RetryPolicy,
    Task,
    UnsupportedOperationError,
    WanxiangError,
)
from airflow_provider_wanxiang.client.shared import SharedPool, shared_pool
from airflow_provider_wanxiang.compat import deserialize, serialize, task_instance_still_deferred
from airflow_provider_wanxiang.hooks.wanxiang import WanxiangConnectionError, WanxiangHook
from airflow_provider_wanxiang.outcomes import OutcomeStatus, TaskOutcome
from airflow_provider_wanxiang.polling import (
    DEFAULT_ERROR_BUDGET,
    DEFAULT_TRIGGER_POLL_INTERVAL,
    PollSchedule,
)
from airflow_provider_wanxiang.triggers.kill import run_to_end

#: One status query is one attempt: the trigger's own schedule does the backing off, so the budget and the
#: Retry-After handling live in one place (and are visible in the triggerer log).
_SINGLE_ATTEMPT = RetryPolicy(max_attempts=1)
#: Seconds granted to a status query that starts at (or after) the wait's deadline: the schedule makes one
#: last query at the deadline itself, so a task that finished just in time is reported as finished.
_LAST_QUERY_SECONDS = 5.0


class WanxiangTaskTrigger(BaseTrigger):
    """Poll a remote task until it is terminal, the deadline passes, or polling must give up.

    Yields exactly one event, a :class:`~airflow_provider_wanxiang.outcomes.TaskOutcome` payload: success
    (SUCCEEDED, also when only some images succeeded), failed, canceled, unknown, timeout or error. Events and
    kwargs hold ids, numbers and codes only — never the API key or result URLs.

    The kwargs follow the trigger-kwargs policy (module docstring): every kwarg added after the first
    release has a default, and none is renamed or removed without a deprecation path, so a trigger
    serialized by an older release still builds after an upgrade.

    :param wanxiang_task_id: The remote task id returned by the create call.
    :param wanxiang_conn_id: The ``wanxiang`` connection to poll with.
    :param end_time: Absolute deadline, epoch seconds (survives triggerer restarts).
    :param poll_interval: The shortest interval between two status queries of this wait (±10 % jitter);
        the connection's ``query_budget`` stretches it when many waits share the triggerer.
    :param error_budget: Consecutive transient failures tolerated before an ``error`` event.
    :param request_timeout: Per-request connect/read timeout in seconds.
    :param deferred_in_try: The Airflow try number that deferred, echoed in the event (see
        :func:`~airflow_provider_wanxiang.compat.is_stale_resume`).
    """

    def __init__(
        self,
        *,
        wanxiang_task_id: str,
        end_time: float,
        wanxiang_conn_id: str = WanxiangHook.default_conn_name,
        poll_interval: float = DEFAULT_TRIGGER_POLL_INTERVAL,
        error_budget: int = DEFAULT_ERROR_BUDGET,
        request_timeout: float = 30.0,
        deferred_in_try: int | None = None,
    ) -> None:
        super().__init__()
        self.wanxiang_task_id = wanxiang_task_id
        self.wanxiang_conn_id = wanxiang_conn_id
        self.end_time = float(end_time)
        self.poll_interval = float(poll_interval)
        self.error_budget = int(error_budget)
        self.request_timeout = float(request_timeout)
        self.deferred_in_try = deferred_in_try
        self._check_kwargs_round_trip()

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "wanxiang_task_id": self.wanxiang_task_id,
                "wanxiang_conn_id": self.wanxiang_conn_id,
                "end_time": self.end_time,
                "poll_interval": self.poll_interval,
                "error_budget": self.error_budget,
                "request_timeout": self.request_timeout,
                "deferred_in_try": self.deferred_in_try,
            },
        )

    def _check_kwargs_round_trip(self) -> None:
        """Fail in the worker, at construction, if the kwargs would not survive the trip to the triggerer."""
        _, kwargs = self.serialize()
        if deserialize(serialize(kwargs)) != kwargs:
            raise TypeError(f"WanxiangTaskTrigger kwargs do not round-trip through serde: {kwargs!r}")

    def _hook(self) -> WanxiangHook:
        return WanxiangHook(self.wanxiang_conn_id, timeout=self.request_timeout, retry_policy=_SINGLE_ATTEMPT)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        try:
            config = await self._hook().aget_client_config()
        except (WanxiangConnectionError, WanxiangError) as err:
            failure = TaskOutcome(
                status=OutcomeStatus.ERROR,
                wanxiang_task_id=self.wanxiang_task_id,
                message=f"Cannot poll task {self.wanxiang_task_id}: {err}",
            )
            yield self._event(failure)
            return
        async with shared_pool(config) as pool:
            outcome = await self._wait(pool)
        yield self._event(outcome)

    def _event(self, outcome: TaskOutcome) -> TriggerEvent:
        """The single event of this trigger, stamped with the try that deferred."""
        return TriggerEvent(dataclasses.replace(outcome, deferred_in_try=self.deferred_in_try).to_event())

    async def _wait(self, pool: SharedPool) -> TaskOutcome:
        schedule = PollSchedule(
            self.wanxiang_task_id,
            self.poll_interval,
            self.end_time,
            self.error_budget,
            fair_interval=pool.fair_interval,
        )
        # The async mirror of waiting.poll_in_worker: decisions and log lines are PollSchedule.observe's.
        await asyncio.sleep(schedule.first_delay())
        while not isinstance(decision := schedule.observe(await self._query(pool), self.log), TaskOutcome):
            await asyncio.sleep(decision)
        return decision

    async def _query(self, pool: SharedPool) -> Task | WanxiangError:
        """One status query, bounded by the wait's own deadline as well as the client's per-request one.

        A server that trickles its answer cannot hold the trigger past ``end_time``: the query is cut there
        (a last query at the deadline gets ``_LAST_QUERY_SECONDS``), and the schedule then ends the wait with
        its ``timeout`` event, whose handling in the worker cancels a task that is still PENDING.
        """
        bound = max(self.end_time - time.time(), _LAST_QUERY_SECONDS)
        try:
            # Not asyncio.wait_for: on 3.11 it wraps every query in a task of its own, which a triggerer
            # polling thousands of waits would pay on every poll.
            async with asyncio.timeout(bound):
                return await pool.get_task(self.wanxiang_task_id)
        except TimeoutError:
            return DeadlineExceededError(
                f"GET /tasks/{self.wanxiang_task_id}: no complete answer before the wait's deadline"
            )
        except WanxiangError as err:
            return err

    async def on_kill(self) -> None:
        """Cancel the remote task when a user kills the deferred task (Airflow >= 3.3 calls this).

        Only a PENDING task can be canceled; a RUNNING one finishes (and is billed) regardless, which the
        server reports as ``UnsupportedOperation``. Never called on a triggerer restart, so a restart never
        cancels work.

        Airflow 3.3.x also calls it when a triggerer whose heartbeat lapsed finds its triggers handed to
        another triggerer (apache/airflow#73454): the task instance is then still DEFERRED and the other
        triggerer polls this very task, so nothing is canceled. It also cancels the trigger's coroutine again
        on every triggerer loop (~1 s) until the trigger ends, which would interrupt any await here: the work
        runs in a task of its own (:func:`~airflow_provider_wanxiang.triggers.kill.run_to_end`), bounded, and
        those repeated cancellations are waited out.
        """
        await run_to_end(self._kill(), self.log, f"Canceling task {self.wanxiang_task_id}")

    async def _kill(self) -> None:
        if await task_instance_still_deferred(self.task_instance, self.log):
            self.log.info(
                "Task instance is still deferred (its trigger moved to another triggerer); not canceling %s",
                self.wanxiang_task_id,
            )
            return
        config: ClientConfig = await self._hook().aget_client_config()
        async with shared_pool(config) as pool:
            try:
                await pool.client.cancel_task(self.wanxiang_task_id)
            except UnsupportedOperationError:
                self.log.info("Task %s had already started; it cannot be canceled", self.wanxiang_task_id)
            else:
                self.log.info("Canceled pending task %s", self.wanxiang_task_id)
