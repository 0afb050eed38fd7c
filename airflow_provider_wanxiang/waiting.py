"""Waiting on one remote Wanxiang task, start to end: the lifecycle shared by every task that waits.

The submit operator (``wait_for_completion=True``), the sensor and (next) the batch operator wait the same
way, through the functions here, top to bottom:

1. :meth:`Wait.begin` fixes the wait's settings and its absolute deadline.
2. Either :func:`defer` hands the wait to the triggerer
   (:class:`~airflow_provider_wanxiang.triggers.wanxiang.WanxiangTaskTrigger`, with Airflow's own deferral
   timeout a grace period behind the trigger's deadline), or :func:`poll_in_worker` polls in the worker.
3. After deferral, :func:`resume` (the task's ``execute_complete``) validates the trigger's event and
   recognises an event replayed into a later try.
4. :func:`finish_wait` ends every wait alike: the summary XCom, a cancel on timeout, and the exception for
   the outcome (:func:`~airflow_provider_wanxiang.exceptions.raise_for_outcome`).

When to query again and when to stop is the policy in :mod:`airflow_provider_wanxiang.polling`; the
Airflow-version workarounds used here live in :mod:`airflow_provider_wanxiang.compat`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn, Protocol, TypeVar

from airflow_provider_wanxiang.client import Task, WanxiangClient, WanxiangError
from airflow_provider_wanxiang.compat import is_stale_resume
from airflow_provider_wanxiang.exceptions import (
    WanxiangTaskError,
    WanxiangTaskFailedError,
    WanxiangTaskTimeoutError,
    raise_for_outcome,
)
from airflow_provider_wanxiang.outcomes import OutcomeStatus, TaskOutcome
from airflow_provider_wanxiang.polling import Log, PollSchedule
from airflow_provider_wanxiang.triggers.wanxiang import WanxiangTaskTrigger

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import BaseOperator
    from airflow.sdk import Context

    from airflow_provider_wanxiang.hooks.wanxiang import WanxiangHook

__all__ = [
    "DEFAULT_TIMEOUT",
    "DEFERRAL_GRACE",
    "SUMMARY_XCOM_KEY",
    "Wait",
    "WaitingTask",
    "defer",
    "finish_wait",
    "poll_in_worker",
    "query",
    "resume",
]

#: XCom key of the URL-free outcome summary (statuses, image counts, usage).
SUMMARY_XCOM_KEY = "wanxiang_summary"
#: Extra time given to Airflow's own deferral timeout so the trigger's deadline always fires first and the
#: timeout path (which cancels a PENDING task) runs instead of a bare ``TaskDeferralTimeout``.
DEFERRAL_GRACE = timedelta(minutes=5)
#: The longest wait unless the task says otherwise.
DEFAULT_TIMEOUT = timedelta(hours=1)

_T = TypeVar("_T")
_T_co = TypeVar("_T_co", covariant=True)


class WaitingTask(Protocol[_T_co]):
    """What :func:`resume` needs of the task that waits (the submit operator, the sensor, a batch operator).

    The task knows how it ends a wait (its own exception classes, its ``require_all_images``) and how it
    starts this try's wait over when Airflow replayed an earlier try's event.
    """

    @property
    def log(self) -> Log: ...

    def end_wait(self, context: Context, outcome: TaskOutcome) -> _T_co:
        """End the wait with ``outcome`` (normally through :func:`finish_wait`)."""
        ...

    def restart_wait(self, context: Context, wanxiang_task_id: str) -> _T_co:
        """Start this try's wait again; ``wanxiang_task_id`` is the task the earlier try waited on."""
        ...


@dataclass(frozen=True)
class Wait:
    """One wait's settings, fixed when it begins.

    The deadline is absolute (epoch seconds) so it is the same in the worker and in a trigger re-created
    after a triggerer restart.
    """

    wanxiang_task_id: str
    wanxiang_conn_id: str
    poll_interval: float
    error_budget: int
    #: The longest wait, in seconds; ``end_time`` is this much after the wait began.
    timeout: float
    end_time: float

    @classmethod
    def begin(
        cls,
        wanxiang_task_id: str,
        wanxiang_conn_id: str,
        poll_interval: float,
        error_budget: int,
        timeout: float,
    ) -> Wait:
        """A wait that begins now and ends ``timeout`` seconds from now."""
        return cls(
            wanxiang_task_id, wanxiang_conn_id, poll_interval, error_budget, timeout, time.time() + timeout
        )

    def schedule(self) -> PollSchedule:
        """A fresh polling policy for this wait (its error count starts at zero)."""
        return PollSchedule(
            wanxiang_task_id=self.wanxiang_task_id,
            poll_interval=self.poll_interval,
            end_time=self.end_time,
            error_budget=self.error_budget,
        )

    def trigger(self, deferred_in_try: int) -> WanxiangTaskTrigger:
        """The trigger that carries this wait on in the triggerer, stamped with the try that defers."""
        return WanxiangTaskTrigger(
            wanxiang_task_id=self.wanxiang_task_id,
            wanxiang_conn_id=self.wanxiang_conn_id,
            end_time=self.end_time,
            poll_interval=self.poll_interval,
            error_budget=self.error_budget,
            deferred_in_try=deferred_in_try,
        )


# -- start -------------------------------------------------------------------------------------------------
def defer(task: BaseOperator, context: Context, wait: Wait) -> NoReturn:
    """Hand the wait to the triggerer; Airflow resumes ``task.execute_complete`` with the trigger's event.

    Airflow's own deferral timeout is the wait's plus :data:`DEFERRAL_GRACE`, so the trigger's deadline
    fires first and the wait ends on the timeout path of :func:`finish_wait`.
    """
    task.defer(
        trigger=wait.trigger(deferred_in_try=context["ti"].try_number),
        method_name="execute_complete",
        timeout=timedelta(seconds=wait.timeout) + DEFERRAL_GRACE,
    )


def query(client: WanxiangClient, wanxiang_task_id: str) -> Task | WanxiangError:
    """One status query in the worker; a failure is returned for the schedule to judge, not raised."""
    try:
        return client.get_task(wanxiang_task_id)
    except WanxiangError as err:
        return err


def poll_in_worker(
    client: WanxiangClient,
    schedule: PollSchedule,
    log: Log,
    first: Task | WanxiangError | None = None,
) -> TaskOutcome:
    """Wait in the worker (holding its slot) until the schedule ends the wait.

    ``first`` is a status this try already read (it saves a query). The trigger's loop is the async mirror
    of this one; both hand every decision to :meth:`PollSchedule.observe`.
    """
    result = query(client, schedule.wanxiang_task_id) if first is None else first
    while not isinstance(decision := schedule.observe(result, log), TaskOutcome):
        time.sleep(decision)
        result = query(client, schedule.wanxiang_task_id)
    return decision


# -- resume ------------------------------------------------------------------------------------------------
def resume(task: WaitingTask[_T], context: Context, event: Any) -> _T:
    """The body of every ``execute_complete``: validate the trigger's event, then end the wait with it.

    An event that belongs to an earlier try (:func:`~airflow_provider_wanxiang.compat.is_stale_resume`,
    Airflow 3.1.0) does not end this try: the task's ``restart_wait`` is given the remote task id it names
    and starts this try's wait properly (the operator re-attaches or resubmits, the sensor waits again).

    :raises ValueError: on a malformed event (:meth:`TaskOutcome.from_event`).
    """
    outcome = TaskOutcome.from_event(event)
    if is_stale_resume(context, outcome):
        task.log.info(
            "Resumed with the previous try's event for Wanxiang task %s; starting this try's wait",
            outcome.wanxiang_task_id,
        )
        return task.restart_wait(context, outcome.wanxiang_task_id)
    return task.end_wait(context, outcome)


# -- finish ------------------------------------------------------------------------------------------------
def finish_wait(
    context: Context,
    outcome: TaskOutcome,
    hook: WanxiangHook,
    *,
    require_all_images: bool,
    timeout_error: type[WanxiangTaskError] = WanxiangTaskTimeoutError,
    failed_error: type[WanxiangTaskFailedError] = WanxiangTaskFailedError,
) -> str:
    """End a wait the same way for operator and sensor, deferred or not; return the remote task id.

    The summary goes to XCom even on failure (it says which images failed and why); on timeout a still
    PENDING task is canceled so nobody pays for an edit that nothing waits for any more. The exception is
    chosen by :func:`~airflow_provider_wanxiang.exceptions.raise_for_outcome` (sensors pass their own
    timeout and FAILED classes, which Airflow does not retry).
    """
    if outcome.summary:
        context["ti"].xcom_push(key=SUMMARY_XCOM_KEY, value=outcome.summary)
    if outcome.status is OutcomeStatus.TIMEOUT:
        hook.cancel_quietly(outcome.wanxiang_task_id)
    raise_for_outcome(
        outcome,
        require_all_images=require_all_images,
        timeout_error=timeout_error,
        failed_error=failed_error,
    )
    hook.log.info(outcome.message)
    return outcome.wanxiang_task_id
