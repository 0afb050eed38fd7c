"""Deferrable waiting on one remote Wanxiang task, in the triggerer.

The trigger only polls; submission always happens in the worker, so a triggerer restart (which re-creates the
trigger from its kwargs and runs it again) can never pay for a second edit. It is pure asyncio: the
connection is resolved without blocking the event loop, one aiohttp session serves the whole wait, and every
sleep is ``asyncio.sleep``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_wanxiang.client import (
    AsyncWanxiangClient,
    DeadlineExceededError,
    RetryPolicy,
    Task,
    UnsupportedOperationError,
    WanxiangError,
)
from airflow_provider_wanxiang.hooks.wanxiang import WanxiangConnectionError, WanxiangHook
from airflow_provider_wanxiang.outcomes import OutcomeStatus, TaskOutcome
from airflow_provider_wanxiang.polling import DEFAULT_ERROR_BUDGET, DEFAULT_POLL_INTERVAL, PollSchedule

try:  # Airflow >= 3.2 serialises trigger kwargs with the Task SDK's serde
    from airflow.sdk.serde import deserialize, serialize
except ImportError:  # Airflow 3.1
    from airflow.serialization.serde import deserialize, serialize  # type: ignore[no-redef]

#: One status query is one attempt: the trigger's own schedule does the backing off, so the budget and the
#: Retry-After handling live in one place (and are visible in the triggerer log).
_SINGLE_ATTEMPT = RetryPolicy(max_attempts=1)
#: Seconds granted to a status query that starts at (or after) the wait's deadline: the schedule makes one
#: last query at the deadline itself, so a task that finished just in time is reported as finished.
_LAST_QUERY_SECONDS = 5.0
#: Bound of on_kill()'s own work (state check + cancel), below Airflow's ``[triggerer] on_kill_timeout``.
_ON_KILL_SECONDS = 20.0


class WanxiangTaskTrigger(BaseTrigger):
    """Poll a remote task until it is terminal, the deadline passes, or polling must give up.

    Yields exactly one event, a :class:`~airflow_provider_wanxiang.outcomes.TaskOutcome` payload: success
    (SUCCEEDED, also when only some images succeeded), failed, canceled, unknown, timeout or error. Events and
    kwargs hold ids, numbers and codes only — never the API key or result URLs.

    :param wanxiang_task_id: The remote task id returned by the create call.
    :param wanxiang_conn_id: The ``wanxiang`` connection to poll with.
    :param end_time: Absolute deadline, epoch seconds (survives triggerer restarts).
    :param poll_interval: Seconds between status queries (±10 % jitter).
    :param error_budget: Consecutive transient failures tolerated before an ``error`` event.
    :param request_timeout: Per-request connect/read timeout in seconds.
    :param deferred_in_try: The Airflow try number that deferred, echoed in the event (see
        :func:`~airflow_provider_wanxiang.operators.wanxiang.is_stale_resume`).
    """

    def __init__(
        self,
        *,
        wanxiang_task_id: str,
        end_time: float,
        wanxiang_conn_id: str = WanxiangHook.default_conn_name,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
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
            client = await self._hook().aget_conn()
        except (WanxiangConnectionError, WanxiangError) as err:
            failure = TaskOutcome(
                status=OutcomeStatus.ERROR,
                wanxiang_task_id=self.wanxiang_task_id,
                message=f"Cannot poll task {self.wanxiang_task_id}: {err}",
            )
            yield self._event(failure)
            return
        async with client:
            outcome = await self._wait(client)
        yield self._event(outcome)

    def _event(self, outcome: TaskOutcome) -> TriggerEvent:
        """The single event of this trigger, stamped with the try that deferred."""
        return TriggerEvent(dataclasses.replace(outcome, deferred_in_try=self.deferred_in_try).to_event())

    async def _wait(self, client: AsyncWanxiangClient) -> TaskOutcome:
        schedule = PollSchedule(
            wanxiang_task_id=self.wanxiang_task_id,
            poll_interval=self.poll_interval,
            end_time=self.end_time,
            error_budget=self.error_budget,
        )
        await asyncio.sleep(schedule.first_delay())
        while True:
            result = await self._query(client)
            decision = schedule.step(result)
            if isinstance(decision, TaskOutcome):
                return decision
            if isinstance(result, WanxiangError):
                self.log.warning(
                    "Polling %s failed (%s); retrying in %.1f s", self.wanxiang_task_id, result, decision
                )
            else:
                self.log.info(
                    "Task %s is %s; next check in %.1f s",
                    self.wanxiang_task_id,
                    result.status.value,
                    decision,
                )
            await asyncio.sleep(decision)

    async def _query(self, client: AsyncWanxiangClient) -> Task | WanxiangError:
        """One status query, bounded by the wait's own deadline as well as the client's per-request one.

        A server that trickles its answer cannot hold the trigger past ``end_time``: the query is cut there
        (a last query at the deadline gets ``_LAST_QUERY_SECONDS``), and the schedule then ends the wait with
        its ``timeout`` event, whose handling in the worker cancels a task that is still PENDING.
        """
        bound = max(self.end_time - time.time(), _LAST_QUERY_SECONDS)
        try:
            return await asyncio.wait_for(client.get_task(self.wanxiang_task_id), bound)
        except asyncio.TimeoutError:
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
        runs in a task of its own, bounded by ``_ON_KILL_SECONDS``, and those repeated cancellations are
        waited out.
        """
        kill = asyncio.ensure_future(asyncio.wait_for(self._kill(), _ON_KILL_SECONDS))
        while True:
            try:
                await asyncio.shield(kill)
                return
            except asyncio.CancelledError:
                if kill.done():
                    return
            except Exception:
                self.log.warning("Canceling task %s failed", self.wanxiang_task_id, exc_info=True)
                return

    async def _kill(self) -> None:
        if await self._task_instance_still_deferred():
            self.log.info(
                "Task instance is still deferred (its trigger moved to another triggerer); not canceling %s",
                self.wanxiang_task_id,
            )
            return
        async with await self._hook().aget_conn() as client:
            try:
                await client.cancel_task(self.wanxiang_task_id)
            except UnsupportedOperationError:
                self.log.info("Task %s had already started; it cannot be canceled", self.wanxiang_task_id)
            else:
                self.log.info("Canceled pending task %s", self.wanxiang_task_id)

    async def _task_instance_still_deferred(self) -> bool:
        """Whether the deferring task instance is still DEFERRED, asked of the triggerer's supervisor.

        A user's mark failed / mark success / clear moves it out of DEFERRED before the triggerer cancels the
        trigger; a reassignment leaves it DEFERRED. When the state cannot be read, assume a user action.
        """
        ti = getattr(self, "task_instance", None)
        if ti is None:
            return False
        try:
            from airflow.sdk.execution_time import task_runner
            from airflow.sdk.execution_time.comms import GetTaskStates, TaskStatesResult

            answer = await task_runner.SUPERVISOR_COMMS.asend(
                GetTaskStates(dag_id=ti.dag_id, task_ids=[ti.task_id], run_ids=[ti.run_id])
            )
            if not isinstance(answer, TaskStatesResult):
                raise TypeError(f"unexpected answer {type(answer).__name__}")
            states = answer.task_states
        except Exception:
            self.log.warning(
                "Cannot read the state of %s; treating on_kill as a user action", ti, exc_info=True
            )
            return False
        key = ti.task_id if ti.map_index is None or ti.map_index < 0 else f"{ti.task_id}_{ti.map_index}"
        return bool(states.get(ti.run_id, {}).get(key) == "deferred")
