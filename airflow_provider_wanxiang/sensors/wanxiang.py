"""Sensor: wait on a remote Wanxiang task submitted elsewhere (typically by ``WanxiangSubmitOperator``)."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowSensorTimeout,
    BaseSensorOperator,
    PokeReturnValue,
    conf,
)

from airflow_provider_wanxiang.client import WanxiangError
from airflow_provider_wanxiang.coercion import to_bool, to_int, to_seconds, to_task_id, unless_template
from airflow_provider_wanxiang.exceptions import WanxiangSensorTaskFailedError, WanxiangSensorTimeout
from airflow_provider_wanxiang.hooks.wanxiang import WanxiangHook
from airflow_provider_wanxiang.operators.wanxiang import (
    DEFAULT_TIMEOUT,
    DEFERRAL_GRACE,
    finish_wait,
    is_stale_resume,
)
from airflow_provider_wanxiang.outcomes import TaskOutcome
from airflow_provider_wanxiang.polling import DEFAULT_ERROR_BUDGET, DEFAULT_POLL_INTERVAL, PollSchedule
from airflow_provider_wanxiang.triggers.wanxiang import WanxiangTaskTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context


class WanxiangTaskSensor(BaseSensorOperator):
    """Succeed when the remote task SUCCEEDED (also when only some images did); fail specifically otherwise.

    Raises a :class:`~airflow_provider_wanxiang.exceptions.WanxiangTaskFailedError` on FAILED (never
    retried: a sensor retry would only read the same FAILED task), ``WanxiangTaskCanceledError`` on
    CANCELED, ``WanxiangTaskUnknownError`` on UNKNOWN (expired or not visible to this key),
    ``WanxiangSensorTimeout`` on timeout (a PENDING task is canceled first) and
    ``WanxiangPartialFailureError`` with ``require_all_images=True``. The sensor only reads the task, so a
    retry or a triggerer restart simply re-attaches to it. Returns the task id; the URL-free summary goes
    to XCom under ``wanxiang_summary``.

    :param wanxiang_task_id: The remote task id (templated), e.g.
        ``"{{ ti.xcom_pull(task_ids='submit') }}"``.
    :param wanxiang_conn_id: The ``wanxiang`` connection.
    :param deferrable: Wait in the triggerer (default ``[operators] default_deferrable``).
    :param poke_interval: Seconds between status queries.
    :param timeout: Longest wait in seconds.
    :param require_all_images: Fail when only some of the images succeeded.
    :param error_budget: Consecutive transient errors tolerated before failing.

    Values are typed like the submit operator's (:mod:`airflow_provider_wanxiang.coercion`):
    ``require_all_images`` (templated) accepts ``true/false/1/0/yes/no``; a ``wanxiang_task_id`` that
    rendered to ``"None"`` or nothing fails before any request.
    """

    template_fields: Sequence[str] = ("wanxiang_task_id", "wanxiang_conn_id", "require_all_images")
    ui_color = "#ffe8cc"

    def __init__(
        self,
        *,
        wanxiang_task_id: str,
        wanxiang_conn_id: str = WanxiangHook.default_conn_name,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poke_interval: float = DEFAULT_POLL_INTERVAL,
        timeout: float = DEFAULT_TIMEOUT.total_seconds(),
        require_all_images: bool = False,
        error_budget: int = DEFAULT_ERROR_BUDGET,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            poke_interval=to_seconds("poke_interval", poke_interval),
            timeout=to_seconds("timeout", timeout),
            **kwargs,
        )
        self.wanxiang_task_id = unless_template(wanxiang_task_id, to_task_id)
        self.wanxiang_conn_id = wanxiang_conn_id
        self.deferrable = to_bool("deferrable", deferrable)
        self.require_all_images = unless_template(require_all_images, to_bool, "require_all_images")
        self.error_budget = to_int("error_budget", error_budget, minimum=0)
        self._schedule: PollSchedule | None = None

    @cached_property
    def hook(self) -> WanxiangHook:
        return WanxiangHook(self.wanxiang_conn_id)

    def execute(self, context: Context) -> Any:
        # Rendered values are typed before the first query (require_all_images is used only at the end).
        self.wanxiang_task_id = to_task_id(self.wanxiang_task_id)
        to_bool("require_all_images", self.require_all_images)
        if not self.deferrable:
            try:
                return super().execute(context)
            except AirflowSensorTimeout as err:
                # Poke mode times out inside BaseSensorOperator; cancel like every other timeout path.
                self.hook.cancel_quietly(self.wanxiang_task_id)
                raise WanxiangSensorTimeout(str(err), wanxiang_task_id=self.wanxiang_task_id) from err
        done = self.poke(context)
        if done:
            return done.xcom_value
        self.defer(
            trigger=WanxiangTaskTrigger(
                wanxiang_task_id=self.wanxiang_task_id,
                wanxiang_conn_id=self.wanxiang_conn_id,
                end_time=time.time() + self.timeout,
                poll_interval=self.poke_interval,
                error_budget=self.error_budget,
                deferred_in_try=context["ti"].try_number,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout) + DEFERRAL_GRACE,
        )

    def poke(self, context: Context) -> PokeReturnValue:
        """One status query; transient errors count against the budget instead of failing the task."""
        if self._schedule is None:
            # The sensor's own timeout bounds the wait in poke mode; the schedule only counts errors.
            self._schedule = PollSchedule(
                wanxiang_task_id=self.wanxiang_task_id,
                poll_interval=self.poke_interval,
                end_time=math.inf,
                error_budget=self.error_budget,
            )
        try:
            result = self.hook.get_conn().get_task(self.wanxiang_task_id)
        except WanxiangError as err:
            self.log.warning("Polling Wanxiang task %s failed: %s", self.wanxiang_task_id, err)
            decision = self._schedule.step(err)
        else:
            self.log.info("Wanxiang task %s is %s", self.wanxiang_task_id, result.status.value)
            decision = self._schedule.step(result)
        if not isinstance(decision, TaskOutcome):
            return PokeReturnValue(is_done=False)
        return PokeReturnValue(is_done=True, xcom_value=self._finish(context, decision))

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger fired: validate the event, then succeed or raise for its outcome."""
        outcome = TaskOutcome.from_event(event)
        if is_stale_resume(context, outcome):
            self.log.info("Resumed with the previous try's event; waiting on the task again")
            return self.execute(context)
        return self._finish(context, outcome)

    def _finish(self, context: Context, outcome: TaskOutcome) -> str:
        return finish_wait(
            context,
            outcome,
            self.hook,
            require_all_images=to_bool("require_all_images", self.require_all_images),
            timeout_error=WanxiangSensorTimeout,
            failed_error=WanxiangSensorTaskFailedError,
        )
