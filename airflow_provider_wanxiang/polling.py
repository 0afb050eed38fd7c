"""When to poll again and when to stop: the one waiting policy of the trigger and of the worker.

The deferrable path (:class:`~airflow_provider_wanxiang.triggers.wanxiang.WanxiangTaskTrigger`) and the
in-worker paths (:func:`airflow_provider_wanxiang.waiting.poll_in_worker`, sensor ``poke``) all feed each
status query's result to :meth:`PollSchedule.observe` (:meth:`PollSchedule.step` plus the log line) and
either sleep the returned seconds or stop with the returned
:class:`~airflow_provider_wanxiang.outcomes.TaskOutcome`. They therefore behave identically under 429s, 5xx
and dropped connections. No network and no Airflow here: callers pass the time and what they saw. The one
side effect is a log warning when the task reports an undocumented status, once per wait (this logger runs
inside the task or the trigger, so the warning lands in its log).

Why an absolute deadline: a trigger is re-created after a triggerer restart, so a budget measured from
``run()`` would start over each time; ``end_time`` is wall-clock epoch seconds fixed when the wait began.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from airflow_provider_wanxiang.client import RetryPolicy, Task, WanxiangError
from airflow_provider_wanxiang.outcomes import OutcomeStatus, TaskOutcome, outcome_from_task

#: Default seconds between status queries of a wait in a worker (polling or poke mode). Workers share no
#: budget, so this stays long: hundreds of such waits at 15 s stay under the account's 20 task queries/s.
DEFAULT_POLL_INTERVAL = 15.0
#: Default seconds between status queries of a deferred wait (the trigger). Short, because the waits of a
#: triggerer share the connection's query budget, which stretches the interval when there are many
#: (:attr:`PollSchedule.fair_interval`): up to ~10 waits are polled every 1.5 s (0.75 s mean detection
#: latency), a thousand at the budget's pace.
DEFAULT_TRIGGER_POLL_INTERVAL = 1.5
#: Consecutive failed status queries tolerated before the wait ends with an ``error`` outcome.
DEFAULT_ERROR_BUDGET = 8
#: Spread of each poll interval (±10 %) so many deferred tasks do not query in lock-step.
POLL_JITTER = 0.1

_STILL_RUNNING = "The remote task may still be running; a retry re-attaches to it."

log = logging.getLogger(__name__)


class Log(Protocol):
    """What waiting needs of a log: the task's or the trigger's Airflow logger, or a stdlib logger."""

    def debug(self, msg: Any, /, *args: Any) -> Any: ...

    def info(self, msg: Any, /, *args: Any) -> Any: ...

    def warning(self, msg: Any, /, *args: Any, exc_info: Any = ...) -> Any: ...


@dataclass(slots=True)
class PollSchedule:
    """Per-wait state: the task, the absolute deadline and the count of consecutive transient errors."""

    wanxiang_task_id: str
    poll_interval: float
    end_time: float
    error_budget: int = DEFAULT_ERROR_BUDGET
    backoff: RetryPolicy = field(default_factory=RetryPolicy)
    consecutive_errors: int = 0
    #: Undocumented statuses already warned about in this wait (each is logged once, not every poll).
    warned_statuses: set[str] = field(default_factory=set)
    #: The status the last successful query saw (INFO when it changes, DEBUG while it stays the same).
    last_status: str | None = None
    #: Seconds between two queries of this wait that keep all waits sharing its budget within it (the
    #: trigger's pool: ``waits / budget``); the interval is never shorter. Zero where nothing is shared.
    fair_interval: Callable[[], float] = field(default=lambda: 0.0, repr=False)

    def interval(self) -> float:
        """Seconds between two queries now: ``poll_interval``, stretched to the fair share of the budget."""
        return max(self.poll_interval, self.fair_interval())

    def first_delay(self, now: float | None = None) -> float:
        """A random head start in ``[0, interval())`` before a trigger's first query.

        When a triggerer (re)starts, every deferred wait starts at once; without this spread, hundreds of
        waits would query in the same second and trip the 20 QPS task-query limit. The worker already
        checked the status just before deferring, so the delay costs nothing on a fresh deferral.
        """
        now = time.time() if now is None else now
        return max(0.0, min(random.uniform(0, self.interval()), self.end_time - now))

    def step(self, result: Task | WanxiangError, now: float | None = None) -> TaskOutcome | float:
        """Decide after one status query: the terminal outcome, or how many seconds to sleep.

        The last query happens at the deadline itself (sleeps are capped to the time left), so a task that
        finished just in time is reported as finished rather than timed out.
        """
        now = time.time() if now is None else now
        if isinstance(result, WanxiangError):
            sleep = self._after_error(result)
            if sleep is None:
                return TaskOutcome(
                    status=OutcomeStatus.ERROR,
                    wanxiang_task_id=self.wanxiang_task_id,
                    message=f"{self._why_given_up(result)} {_STILL_RUNNING}",
                    code=result.code,
                )
        else:
            outcome = outcome_from_task(result)
            if outcome is not None:
                return outcome
            self._warn_undocumented(result)
            self.consecutive_errors = 0
            sleep = self.interval() * random.uniform(1 - POLL_JITTER, 1 + POLL_JITTER)
        remaining = self.end_time - now
        if remaining <= 0:
            return TaskOutcome(
                status=OutcomeStatus.TIMEOUT,
                wanxiang_task_id=self.wanxiang_task_id,
                message=(
                    f"Task {self.wanxiang_task_id} did not finish before the deadline "
                    f"({time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(self.end_time))})."
                ),
            )
        return max(0.0, min(sleep, remaining))

    def observe(
        self,
        result: Task | WanxiangError,
        log: Log,
        *,
        paced: bool = True,
        now: float | None = None,
    ) -> TaskOutcome | float:
        """:meth:`step`, and say what the query saw in the caller's log: the one place every waiting loop
        (trigger, worker polling, sensor ``poke``) turns a status query into a decision and a log line.

        A new status (the first one seen, PENDING → RUNNING, a terminal one) is logged at INFO, the same
        status again at DEBUG (thousands of waits in one triggerer would otherwise log a line per query),
        a failed query at WARNING (whether or not it ends the wait; the outcome's message then says why it
        ended). ``paced=False`` is for a caller whose next query is timed by
        someone else (a sensor in poke mode sleeps its ``poke_interval``), so no delay is announced.
        """
        decision = self.step(result, now)
        # The delay goes in as a logging argument, not a formatted string: the same status again is
        # logged at DEBUG, which a triggerer usually drops, so nothing is formatted per poll for it.
        announce = paced and not isinstance(decision, TaskOutcome)
        if isinstance(result, WanxiangError):
            if announce:
                log.warning(
                    "Polling Wanxiang task %s failed (%s); retrying in %.1f s",
                    self.wanxiang_task_id,
                    result,
                    decision,
                )
            else:
                log.warning("Polling Wanxiang task %s failed (%s)", self.wanxiang_task_id, result)
        else:
            status = result.status.value
            emit = log.debug if status == self.last_status else log.info
            self.last_status = status
            if announce:
                emit("Wanxiang task %s is %s; next check in %.1f s", self.wanxiang_task_id, status, decision)
            else:
                emit("Wanxiang task %s is %s", self.wanxiang_task_id, status)
        return decision

    def _why_given_up(self, error: WanxiangError) -> str:
        """What ended the wait, in words that match what happened."""
        if not error.retryable:
            return f"Gave up polling task {self.wanxiang_task_id}: the API answered {error}; not retrying."
        return (
            f"Gave up polling task {self.wanxiang_task_id} after {self.consecutive_errors} consecutive "
            f"failed status queries (error_budget={self.error_budget}); the last one: {error}."
        )

    def _warn_undocumented(self, task: Task) -> None:
        reported = task.reported_status
        if reported is None or reported in self.warned_statuses:
            return
        self.warned_statuses.add(reported)
        log.warning(
            "Task %s reports the undocumented status %r; treating it as RUNNING and waiting on "
            "(the wait's deadline still applies). Warned once per wait.",
            self.wanxiang_task_id,
            reported,
        )

    def _after_error(self, error: WanxiangError) -> float | None:
        """Back off after a failed query, or ``None`` to give up.

        Non-retryable errors (a revoked key, a 4xx) end the wait at once; retryable ones back off with
        jitter, honour ``Retry-After`` and count against the budget. The floor of a quarter interval keeps a
        burst of errors from turning into a burst of queries.
        """
        if not error.retryable:
            return None
        self.consecutive_errors += 1
        if self.consecutive_errors > self.error_budget:
            return None
        return max(self.backoff.delay(self.consecutive_errors, error.retry_after), self.interval() / 4)
