"""Deferrable waiting on a batch's in-flight remote tasks, in the triggerer: fire as soon as any is terminal.

The batch operator submits in the worker, defers on the task ids it has in flight, and resumes here when one
of them ends, to store its results and submit the next item. The trigger only reads statuses (a triggerer
restart re-creates it from its kwargs and can never pay for anything), through the connection's shared pool
and query budget (:mod:`~airflow_provider_wanxiang.client.shared`), round-robin over its tasks.

Kwargs are the remote task ids and numbers only: never item keys, URLs or secrets (the triggerer logs them).
The event is ``{"status": "finished"|"timeout"|"error", "finished": [task ids], "message",
"deferred_in_try"}``; the worker does not trust it for results (those come from the ledger and a fresh
read of each task), so a replayed or stale event costs a wave, never a payment.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_wanxiang.client import (
    ClientConfig,
    RetryPolicy,
    UnsupportedOperationError,
    WanxiangError,
)
from airflow_provider_wanxiang.client.shared import SharedPool, shared_pool
from airflow_provider_wanxiang.compat import deserialize, serialize, task_instance_still_deferred
from airflow_provider_wanxiang.hooks.wanxiang import WanxiangConnectionError, WanxiangHook
from airflow_provider_wanxiang.polling import DEFAULT_ERROR_BUDGET, DEFAULT_TRIGGER_POLL_INTERVAL
from airflow_provider_wanxiang.triggers.kill import run_to_end

__all__ = ["WanxiangBatchTrigger"]

_SINGLE_ATTEMPT = RetryPolicy(max_attempts=1)


class WanxiangBatchTrigger(BaseTrigger):
    """Poll ``wanxiang_task_ids`` until one is terminal (or the deadline passes); yield one event.

    :param wanxiang_task_ids: the remote tasks in flight.
    :param end_time: absolute deadline, epoch seconds (survives triggerer restarts).
    :param poll_interval: the shortest interval between two queries of one task; the pool's fair share of
        the query budget stretches it when many waits share the triggerer.
    :param error_budget: consecutive failed queries (over all tasks) before an ``error`` event.
    :param deferred_in_try: the try that deferred, echoed in the event.
    """

    def __init__(
        self,
        *,
        wanxiang_task_ids: list[str],
        end_time: float,
        wanxiang_conn_id: str = WanxiangHook.default_conn_name,
        poll_interval: float = DEFAULT_TRIGGER_POLL_INTERVAL,
        error_budget: int = DEFAULT_ERROR_BUDGET,
        request_timeout: float = 30.0,
        deferred_in_try: int | None = None,
    ) -> None:
        super().__init__()
        self.wanxiang_task_ids = [str(task_id) for task_id in wanxiang_task_ids]
        self.wanxiang_conn_id = wanxiang_conn_id
        self.end_time = float(end_time)
        self.poll_interval = float(poll_interval)
        self.error_budget = int(error_budget)
        self.request_timeout = float(request_timeout)
        self.deferred_in_try = deferred_in_try
        _, kwargs = self.serialize()
        if deserialize(serialize(kwargs)) != kwargs:
            raise TypeError(f"WanxiangBatchTrigger kwargs do not round-trip through serde: {kwargs!r}")

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "wanxiang_task_ids": list(self.wanxiang_task_ids),
                "wanxiang_conn_id": self.wanxiang_conn_id,
                "end_time": self.end_time,
                "poll_interval": self.poll_interval,
                "error_budget": self.error_budget,
                "request_timeout": self.request_timeout,
                "deferred_in_try": self.deferred_in_try,
            },
        )

    def _event(self, status: str, finished: list[str] | None = None, message: str = "") -> TriggerEvent:
        return TriggerEvent(
            {
                "status": status,
                "finished": finished or [],
                "message": message,
                "deferred_in_try": self.deferred_in_try,
            }
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = WanxiangHook(self.wanxiang_conn_id, timeout=self.request_timeout, retry_policy=_SINGLE_ATTEMPT)
        try:
            config = await hook.aget_client_config()
        except (WanxiangConnectionError, WanxiangError) as err:
            yield self._event("error", message=f"Cannot poll the batch's tasks: {err}")
            return
        async with shared_pool(config) as pool:
            event = await self._wait(pool)
        yield event

    async def _wait(self, pool: SharedPool) -> TriggerEvent:
        errors = 0
        count = max(1, len(self.wanxiang_task_ids))
        while True:
            for task_id in self.wanxiang_task_ids:
                if time.time() >= self.end_time:
                    return self._event("timeout", message="the batch's deadline passed")
                # One round visits every task once per interval (at least the pool's fair interval each).
                await asyncio.sleep(max(self.poll_interval, pool.fair_interval() * count) / count)
                try:
                    task = await pool.get_task(task_id)  # a list round's answer when the pool batches
                except WanxiangError as err:
                    errors += 1
                    self.log.info("Status query of %s failed (%s); %d in a row", task_id, err, errors)
                    if errors > self.error_budget:
                        return self._event("error", message=f"status queries keep failing: {err}")
                    continue
                errors = 0
                if task.status.is_terminal:
                    return self._event("finished", [task_id])

    async def on_kill(self) -> None:
        """Cancel the PENDING tasks in flight when a user kills the deferred batch (Airflow >= 3.3).

        As the operator's own ``on_kill`` does in a worker: a RUNNING task cannot be canceled (the server
        answers ``UnsupportedOperation``) and ends (billed) anyway; the ledger keeps every task id, so a
        retry re-attaches to the running ones and resubmits the canceled ones. Not called on a triggerer
        restart; on a hand-over between triggerers (apache/airflow#73454) the task instance is still
        DEFERRED and nothing is canceled, exactly as for the single-task trigger.
        """
        await run_to_end(self._kill(), self.log, "Canceling the batch's pending tasks")

    async def _kill(self) -> None:
        if await task_instance_still_deferred(self.task_instance, self.log):
            self.log.info(
                "Task instance is still deferred (its trigger moved to another triggerer); not canceling "
                "the %d tasks in flight",
                len(self.wanxiang_task_ids),
            )
            return
        hook = WanxiangHook(self.wanxiang_conn_id, timeout=self.request_timeout, retry_policy=_SINGLE_ATTEMPT)
        config: ClientConfig = await hook.aget_client_config()
        async with shared_pool(config) as pool:
            canceled = await asyncio.gather(
                *(self._cancel(pool, task_id) for task_id in self.wanxiang_task_ids)
            )
        self.log.info(
            "Canceled %d pending of the %d tasks in flight", sum(canceled), len(self.wanxiang_task_ids)
        )

    async def _cancel(self, pool: SharedPool, task_id: str) -> bool:
        try:
            await pool.client.cancel_task(task_id)
        except UnsupportedOperationError:
            self.log.info("Task %s had already started; it cannot be canceled", task_id)
            return False
        except WanxiangError as err:
            self.log.warning("Could not cancel task %s: %s", task_id, err)
            return False
        self.log.info("Canceled pending task %s", task_id)
        return True
