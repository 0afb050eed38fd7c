"""Sensor: wait on a remote Wanxiang task submitted elsewhere (typically by ``WanxiangSubmitOperator``)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowSensorTimeout,
    BaseSensorOperator,
    PokeReturnValue,
    conf,
)

from airflow_provider_wanxiang.coercion import to_bool, to_int, to_seconds, to_task_id, unless_template
from airflow_provider_wanxiang.exceptions import WanxiangSensorTaskFailedError, WanxiangSensorTimeout
from airflow_provider_wanxiang.hooks.wanxiang import WanxiangHook
from airflow_provider_wanxiang.outcomes import TaskOutcome
from airflow_provider_wanxiang.polling import (
    DEFAULT_ERROR_BUDGET,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_TRIGGER_POLL_INTERVAL,
    PollSchedule,
)
from airflow_provider_wanxiang.waiting import DEFAULT_TIMEOUT, Wait, defer, finish_wait, query, resume

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
    :param poke_interval: Seconds between status queries. Default: 15 s in poke/reschedule mode; deferred,
        1.5 s stretched by the connection's ``query_budget`` when many waits share the triggerer.
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
        poke_interval: float | None = None,
        timeout: float = DEFAULT_TIMEOUT.total_seconds(),
        require_all_images: bool = False,
        error_budget: int = DEFAULT_ERROR_BUDGET,
        **kwargs: Any,
    ) -> None:
        given = None if poke_interval is None else to_seconds("poke_interval", poke_interval)
        super().__init__(
            poke_interval=DEFAULT_POLL_INTERVAL if given is None else given,
            timeout=to_seconds("timeout", timeout),
            **kwargs,
        )
        self.wanxiang_task_id = unless_template(wanxiang_task_id, to_task_id)
        self.wanxiang_conn_id = wanxiang_conn_id
        self.deferrable = to_bool("deferrable", deferrable)
        self.require_all_images = unless_template(require_all_images, to_bool, "require_all_images")
        self.error_budget = to_int("error_budget", error_budget, minimum=0)
        #: Deferred, the trigger polls this often when the connection's query budget allows.
        self.deferred_poll_interval = DEFAULT_TRIGGER_POLL_INTERVAL if given is None else given
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
        defer(self, context, self._wait())

    def _wait(self) -> Wait:
        return Wait.begin(
            self.wanxiang_task_id,
            self.wanxiang_conn_id,
            self.deferred_poll_interval,
            self.error_budget,
            self.timeout,
        )

    def poke(self, context: Context) -> PokeReturnValue:
        """One status query; transient errors count against the budget instead of failing the task."""
        if self._schedule is None:
            # The sensor's own timeout bounds the wait in poke mode and BaseSensorOperator times the pokes;
            # the schedule only counts errors.
            self._schedule = dataclasses.replace(self._wait().schedule(), end_time=math.inf)
        result = query(self.hook.get_conn(), self.wanxiang_task_id)
        decision = self._schedule.observe(result, self.log, paced=False)
        if not isinstance(decision, TaskOutcome):
            return PokeReturnValue(is_done=False)
        return PokeReturnValue(is_done=True, xcom_value=self.end_wait(context, decision))

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger fired: validate the event, then succeed or raise for its outcome."""
        return resume(self, context, event)

    def restart_wait(self, context: Context, wanxiang_task_id: str) -> Any:
        """Wait again in this try (Airflow replayed an earlier try's event); the sensor only reads."""
        return self.execute(context)

    def end_wait(self, context: Context, outcome: TaskOutcome) -> str:
        """End the wait with the sensor's exceptions, which Airflow does not retry."""
        return finish_wait(
            context,
            outcome,
            self.hook,
            require_all_images=to_bool("require_all_images", self.require_all_images),
            timeout_error=WanxiangSensorTimeout,
            failed_error=WanxiangSensorTaskFailedError,
        )
