"""The waiting policy shared by trigger, operator and sensor, driven with explicit times (no sleeping)."""

from __future__ import annotations

import logging

import pytest

from airflow_provider_wanxiang.client import (
    AuthenticationError,
    RetryPolicy,
    ServerError,
    Task,
    TaskStatus,
)
from airflow_provider_wanxiang.outcomes import OutcomeStatus, TaskOutcome
from airflow_provider_wanxiang.polling import POLL_JITTER, PollSchedule

NOW = 1_000_000.0


def _task(status: TaskStatus) -> Task:
    return Task(task_id="t-1", status=status)


def _schedule(**kwargs: object) -> PollSchedule:
    params: dict[str, object] = {"wanxiang_task_id": "t-1", "poll_interval": 10.0, "end_time": NOW + 100}
    params.update(kwargs)
    return PollSchedule(**params)  # type: ignore[arg-type]


def _busy() -> ServerError:
    return ServerError("busy", code="ServiceUnavailable", http_status=503, retryable=True)


def test_running_task_sleeps_about_one_interval() -> None:
    schedule = _schedule()
    sleeps = [schedule.step(_task(TaskStatus.RUNNING), NOW) for _ in range(200)]
    assert all(isinstance(s, float) for s in sleeps)
    assert min(sleeps) >= 10 * (1 - POLL_JITTER)  # type: ignore[operator]
    assert max(sleeps) <= 10 * (1 + POLL_JITTER)  # type: ignore[operator]
    assert len(set(sleeps)) > 1  # jittered


def test_sleep_is_capped_to_the_deadline_so_the_last_check_happens_at_it() -> None:
    assert _schedule().step(_task(TaskStatus.PENDING), NOW + 97) == pytest.approx(3.0)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (TaskStatus.SUCCEEDED, OutcomeStatus.SUCCESS),
        (TaskStatus.FAILED, OutcomeStatus.FAILED),
        (TaskStatus.CANCELED, OutcomeStatus.CANCELED),
        (TaskStatus.UNKNOWN, OutcomeStatus.UNKNOWN),
    ],
)
def test_terminal_states_end_the_wait_even_past_the_deadline(
    status: TaskStatus, expected: OutcomeStatus
) -> None:
    outcome = _schedule().step(_task(status), NOW + 500)
    assert isinstance(outcome, TaskOutcome)
    assert outcome.status is expected


def test_deadline_passed_while_still_running_is_a_timeout() -> None:
    outcome = _schedule().step(_task(TaskStatus.RUNNING), NOW + 100)
    assert isinstance(outcome, TaskOutcome)
    assert outcome.status is OutcomeStatus.TIMEOUT


def test_transient_errors_back_off_within_the_budget_then_give_up() -> None:
    schedule = _schedule(
        error_budget=3, backoff=RetryPolicy(base_delay=1, max_delay=8, jitter=lambda cap: cap)
    )
    sleeps = [schedule.step(_busy(), NOW) for _ in range(3)]
    assert all(isinstance(s, float) for s in sleeps)
    assert sleeps[0] >= 10 / 4  # type: ignore[operator]  # never faster than a quarter interval
    outcome = schedule.step(_busy(), NOW)
    assert isinstance(outcome, TaskOutcome)
    assert outcome.status is OutcomeStatus.ERROR
    assert outcome.code == "ServiceUnavailable"
    assert "after 4 consecutive failed status queries (error_budget=3)" in outcome.message
    assert "not retrying" not in outcome.message


def test_a_good_answer_resets_the_error_count() -> None:
    schedule = _schedule(error_budget=1)
    assert isinstance(schedule.step(_busy(), NOW), float)
    assert isinstance(schedule.step(_task(TaskStatus.RUNNING), NOW), float)
    assert isinstance(schedule.step(_busy(), NOW), float)  # budget available again


def test_retry_after_is_honoured() -> None:
    schedule = _schedule(poll_interval=1.0)
    throttled = ServerError("slow down", code="Throttling", http_status=429, retryable=True, retry_after=7.0)
    assert schedule.step(throttled, NOW) == pytest.approx(7.0)


def test_non_retryable_errors_end_the_wait_at_once() -> None:
    denied = AuthenticationError("Invalid API-key provided.", code="InvalidApiKey", http_status=401)
    outcome = _schedule().step(denied, NOW)
    assert isinstance(outcome, TaskOutcome)
    assert outcome.status is OutcomeStatus.ERROR
    assert outcome.code == "InvalidApiKey"
    # Says what happened: no "after 0 consecutive error(s)" for an error that was never retried.
    assert outcome.message.startswith(
        "Gave up polling task t-1: the API answered [InvalidApiKey] Invalid API-key provided. (HTTP 401); "
        "not retrying."
    )
    assert "consecutive" not in outcome.message


def test_an_undocumented_status_is_waited_on_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    schedule = _schedule()
    suspended = Task(task_id="t-1", status=TaskStatus.RUNNING, reported_status="SUSPENDED")
    with caplog.at_level("WARNING", logger="airflow_provider_wanxiang.polling"):
        sleeps = [schedule.step(suspended, NOW) for _ in range(5)]
        assert all(isinstance(s, float) for s in sleeps)  # still waiting
        assert isinstance(schedule.step(Task(task_id="t-1", status=TaskStatus.RUNNING), NOW), float)
        assert isinstance(schedule.step(suspended, NOW), float)
        other = Task(task_id="t-1", status=TaskStatus.RUNNING, reported_status="PAUSED")
        assert isinstance(schedule.step(other, NOW), float)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        "Task t-1 reports the undocumented status 'SUSPENDED'; treating it as RUNNING and waiting on "
        "(the wait's deadline still applies). Warned once per wait.",
        "Task t-1 reports the undocumented status 'PAUSED'; treating it as RUNNING and waiting on "
        "(the wait's deadline still applies). Warned once per wait.",
    ]
    # The deadline still bounds it.
    assert isinstance(outcome := schedule.step(suspended, NOW + 100), TaskOutcome)
    assert outcome.status is OutcomeStatus.TIMEOUT


def test_first_delay_spreads_restarts_within_one_interval_and_the_deadline() -> None:
    delays = [_schedule().first_delay(NOW) for _ in range(200)]
    assert min(delays) >= 0 and max(delays) < 10
    assert len(set(delays)) > 1
    assert _schedule().first_delay(NOW + 99.5) <= 0.5


# -- observe: the decision plus the one log line every waiting loop writes -----------------------------------
@pytest.mark.parametrize(
    ("result", "paced", "level", "text"),
    [
        (_task(TaskStatus.RUNNING), True, "INFO", "Wanxiang task t-1 is RUNNING; next check in "),
        (_task(TaskStatus.RUNNING), False, "INFO", "Wanxiang task t-1 is RUNNING"),
        (_busy(), True, "WARNING", "Polling Wanxiang task t-1 failed ([ServiceUnavailable] busy"),
        (_task(TaskStatus.SUCCEEDED), True, "INFO", "Wanxiang task t-1 is SUCCEEDED"),
    ],
)
def test_observe_logs_one_line_at_the_right_level(
    result: Task | ServerError, paced: bool, level: str, text: str, caplog: pytest.LogCaptureFixture
) -> None:
    log = logging.getLogger("test_polling.observe")
    with caplog.at_level("INFO", logger=log.name):
        decision = _schedule().observe(result, log, paced=paced, now=NOW)
    (record,) = caplog.records
    assert record.levelname == level
    assert record.getMessage().startswith(text), record.getMessage()
    if isinstance(decision, float) and paced:
        verb = "retrying" if isinstance(result, ServerError) else "next check"
        assert record.getMessage().endswith(f"; {verb} in {decision:.1f} s")
    else:
        assert " in " not in record.getMessage().removeprefix(text)


def test_observe_ends_the_wait_like_step_and_says_no_delay(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("test_polling.observe")
    revoked = AuthenticationError("bad key", code="InvalidApiKey", http_status=401, retryable=False)
    with caplog.at_level("INFO", logger=log.name):
        decision = _schedule().observe(revoked, log, now=NOW)
    assert isinstance(decision, TaskOutcome) and decision.status is OutcomeStatus.ERROR
    (record,) = caplog.records
    assert record.levelname == "WARNING" and "retrying" not in record.getMessage()


def test_repeated_status_is_logged_at_debug_and_a_change_at_info(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("test_polling.observe")
    schedule = _schedule()
    statuses = [TaskStatus.PENDING, TaskStatus.PENDING, TaskStatus.RUNNING, TaskStatus.RUNNING]
    with caplog.at_level("DEBUG", logger=log.name):
        for status in [*statuses, TaskStatus.SUCCEEDED]:
            schedule.observe(_task(status), log, now=NOW)
    levels = [(r.levelname, r.getMessage().split(" is ")[1].split(";")[0]) for r in caplog.records]
    assert levels == [
        ("INFO", "PENDING"),
        ("DEBUG", "PENDING"),
        ("INFO", "RUNNING"),
        ("DEBUG", "RUNNING"),
        ("INFO", "SUCCEEDED"),
    ]


# -- the shared budget stretches the interval ----------------------------------------------------------------
def test_the_fair_share_of_the_budget_stretches_the_interval_and_the_first_delay() -> None:
    waits = {"count": 1}
    schedule = _schedule(poll_interval=1.5, fair_interval=lambda: waits["count"] / 10)
    assert schedule.interval() == 1.5, "a few waits poll at poll_interval"
    waits["count"] = 1000
    assert schedule.interval() == 100.0, "a thousand waits share 10 queries/s: 100 s apart each"
    sleeps = [schedule.step(_task(TaskStatus.RUNNING), NOW - 1000) for _ in range(50)]
    assert min(sleeps) >= 100 * (1 - POLL_JITTER)  # type: ignore[operator]
    delays = [schedule.first_delay(NOW - 1000) for _ in range(200)]
    assert max(delays) > 10, "restarts spread over the stretched interval"
    waits["count"] = 2
    assert schedule.interval() == 1.5, "the interval shrinks back as waits leave"


def test_error_backoff_floor_follows_the_stretched_interval() -> None:
    schedule = _schedule(
        poll_interval=1.0, fair_interval=lambda: 40.0, backoff=RetryPolicy(base_delay=0.01, max_delay=0.01)
    )
    assert schedule.step(_busy(), NOW - 1000) == 10.0
