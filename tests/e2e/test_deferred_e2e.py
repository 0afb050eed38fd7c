"""End to end with real Airflow processes: deferred waits survive a triggerer crash and a sensor retry, and
a user marking a deferred edit failed cancels its pending remote task (Airflow >= 3.3).

The promise under test (DESIGN.md section 4): submission happens once per logical edit, in the worker; a
restart of the triggerer or a retry of the sensor re-attaches to the same remote task instead of paying
again, and only a user's action on the task (never a restart) cancels remote work. ``dag.test()`` cannot
show this (it runs triggers inline, with no triggerer to lose), so these tests run the scheduler with
LocalExecutor workers, the triggerer and the API server as separate processes, crash one or act on a task
as a user would, and count the creates and cancels the emulator received.

Remote edits are long (``[seconds:600]``); each test ends them by advancing the emulator's clock once the
situation it wants to prove is in place, so nothing depends on how fast this machine is.
"""

from __future__ import annotations

import json
import signal
from typing import Any, NoReturn

import pytest
from airflow import __version__ as airflow_version
from airflow.triggers.base import BaseTrigger
from packaging.version import Version

from tests.e2e.stack import AirflowStack

#: Above the suite's 300 s default: each wait below has its own 180 s deadline with a clear message and the
#: process logs, which should fire before pytest-timeout's bare stack dump.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

#: apache/airflow#56704: before 3.1.1 a retry of a task that failed after resuming from deferral re-runs the
#: resume method with the old trigger event instead of ``execute()``.
STALE_RESUME_ON_RETRY = Version(airflow_version) < Version("3.1.1")

#: Airflow >= 3.3 calls ``BaseTrigger.on_kill()`` when a user marks a deferred task failed/success or clears
#: it; Airflow 3.1 has no trigger ``on_kill`` at all: it only stops polling.
TRIGGER_ON_KILL = hasattr(BaseTrigger, "on_kill")

EDITS = [f"edit_{index}" for index in range(4)]
#: Past the 600 s remote run time of every e2e edit (and far below the 24 h task TTL).
FINISH_REMOTE_TASKS = {"time_offset": 900}
#: Past the end of an edit queued behind another one (600 s + 600 s with ``pending_fraction`` 0).
FINISH_QUEUED_REMOTE_TASKS = {"time_offset": 1300}


def wait_for_dag(stack: AirflowStack, dag_id: str) -> None:
    """``dags trigger`` needs the DAG parsed and serialized by the dag-processor first."""

    def serialized() -> bool:
        errors = stack.query("SELECT filename, stacktrace FROM import_error")
        if errors:
            pytest.fail(f"the dag-processor cannot import the e2e DAG file: {errors}\n{stack.diagnostics()}")
        return bool(stack.query("SELECT 1 FROM serialized_dag WHERE dag_id = ?", dag_id))

    stack.wait_for(f"the dag-processor to serialize {dag_id}", serialized)
    rows = stack.query("SELECT is_paused FROM dag WHERE dag_id = ?", dag_id)
    if rows and rows[0][0]:
        stack.cli("dags", "unpause", dag_id)


def trigger_rows(stack: AirflowStack, dag_id: str, run_id: str) -> dict[str, Any]:
    """Task id → the triggerer job id its trigger is assigned to (``None``: not picked up yet)."""
    rows = stack.query(
        "SELECT ti.task_id, t.triggerer_id FROM task_instance ti JOIN trigger t ON ti.trigger_id = t.id "
        "WHERE ti.dag_id = ? AND ti.run_id = ?",
        dag_id,
        run_id,
    )
    return dict(rows)


def trigger_log(stack: AirflowStack, dag_id: str, run_id: str, task_id: str, triggerer_job: int) -> str:
    """The per-trigger log that the given triggerer writes for try 1 of ``task_id`` ("" before it exists)."""
    log = (
        stack.home
        / "logs"
        / f"dag_id={dag_id}"
        / f"run_id={run_id}"
        / f"task_id={task_id}"
        / f"attempt=1.log.trigger.{triggerer_job}.log"
    )
    return log.read_text(errors="replace") if log.exists() else ""


def polled(stack: AirflowStack, dag_id: str, run_id: str, task_id: str, triggerer_job: int) -> bool:
    """Whether the trigger of ``task_id`` has polled in the given triggerer (its per-trigger log says so)."""
    return "next check in" in trigger_log(stack, dag_id, run_id, task_id, triggerer_job)


def executor_saw_deferral(stack: AirflowStack, dag_id: str, run_id: str, task_id: str) -> bool:
    """Whether the scheduler has processed the executor's event for the worker that deferred ``task_id``.

    The worker process exits after deferring and the executor reports that exit as ``success``; the
    supervisor can take ~5 s to notice the exit. If the trigger fires before the scheduler drains that event,
    the stale ``success`` meets the resumed, re-queued try and the scheduler marks it failed ("state changed
    externally", the apache/airflow#71580 / #72716 family of races; 3.3.2 only guards a ``scheduled`` TI).
    A test that acts on deferred tasks, or ends their waits, seconds after they deferred waits for this first.
    """
    prefix = f"TaskInstance Finished: dag_id={dag_id}, task_id={task_id}, run_id={run_id}, "
    log = stack.processes["scheduler"].log.read_text(errors="replace")
    return any(prefix in line and "state=deferred," in line for line in log.splitlines())


def triggerer_jobs(stack: AirflowStack) -> set[int]:
    """Ids of every triggerer job recorded so far (a new triggerer adds one)."""
    return {row[0] for row in stack.query("SELECT id FROM job WHERE job_type = 'TriggererJob'")}


def return_values(stack: AirflowStack, dag_id: str, run_id: str) -> dict[str, Any]:
    rows = stack.query(
        "SELECT task_id, value FROM xcom WHERE dag_id = ? AND run_id = ? AND key = 'return_value'",
        dag_id,
        run_id,
    )
    return {task: json.loads(value) for task, value in rows}


def one_running_one_queued(
    stack: AirflowStack, dag_id: str, run_id: str, edits: list[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """Edit → remote task id, and edit → remote status, of two deferred edits sharing one slot.

    Waits for :func:`executor_saw_deferral` of every edit first (acting sooner races the scheduler), then
    checks that one edit holds the slot (RUNNING) and the other is queued behind it (PENDING).
    """
    stack.wait_for(
        "the scheduler to process both deferring workers' exits",
        lambda: all(executor_saw_deferral(stack, dag_id, run_id, edit) for edit in edits),
        run=(dag_id, run_id),
    )
    remote_ids = return_values(stack, dag_id, run_id)
    statuses = {edit: stack.remote_status(remote_ids[edit]) for edit in edits}
    assert sorted(statuses.values()) == ["PENDING", "RUNNING"], statuses
    return remote_ids, statuses


def final_states(stack: AirflowStack, dag_id: str, run_id: str) -> dict[str, str]:
    """Task states as a user sees them: ``airflow tasks states-for-dag-run -o json``."""
    return {
        row["task_id"]: row["state"] for row in stack.cli_json("tasks", "states-for-dag-run", dag_id, run_id)
    }


def test_triggerer_crash_reattaches_every_deferred_edit(stack: AirflowStack) -> None:
    """SIGKILL the triggerer while four edits wait in it: a new one finishes them, nothing is paid twice."""
    dag_id = "wx_e2e_triggerer_restart"
    wait_for_dag(stack, dag_id)
    run_id = stack.trigger(dag_id)

    def all_deferred_in_one_triggerer() -> int | None:
        states = stack.task_rows(dag_id, run_id)
        if len(states) != len(EDITS) or any(row["state"] != "deferred" for row in states.values()):
            return None
        owners = set(trigger_rows(stack, dag_id, run_id).values())
        return owners.pop() if len(owners) == 1 and None not in owners else None

    old_triggerer = stack.wait_for(
        "all four edits to be deferred in the triggerer", all_deferred_in_one_triggerer, run=(dag_id, run_id)
    )
    # Assigned is not yet running: crash only once the triggerer is actually polling every edit.
    stack.wait_for(
        "the triggerer to poll every edit",
        lambda: all(polled(stack, dag_id, run_id, edit, old_triggerer) for edit in EDITS),
        run=(dag_id, run_id),
    )
    before = stack.emulator_stats()
    assert before["tasks_created"] == len(EDITS), before
    assert before["final_status"].get("SUCCEEDED", 0) == 0, before

    stack.processes["triggerer"].kill()
    stack.start_triggerer()

    def new_triggerer() -> int | None:
        owners = set(trigger_rows(stack, dag_id, run_id).values())
        if len(owners) != 1 or None in owners or old_triggerer in owners:
            return None
        owner: int = owners.pop()
        return owner if all(polled(stack, dag_id, run_id, edit, owner) for edit in EDITS) else None

    stack.wait_for(
        "a new triggerer to take over and poll the four edits", new_triggerer, run=(dag_id, run_id)
    )
    assert {row["state"] for row in stack.task_rows(dag_id, run_id).values()} == {"deferred"}
    stack.emulator("config", FINISH_REMOTE_TASKS)

    assert stack.wait_for_run_end(dag_id, run_id) == "success", stack.diagnostics()
    assert final_states(stack, dag_id, run_id) == dict.fromkeys(EDITS, "success")
    assert {row["try_number"] for row in stack.task_rows(dag_id, run_id).values()} == {1}
    remote_ids = return_values(stack, dag_id, run_id)
    assert sorted(remote_ids) == EDITS
    assert len(set(remote_ids.values())) == len(EDITS), remote_ids
    stats = stack.emulator_stats()
    print(f"emulator stats after the triggerer restart run: {json.dumps(stats)}")
    assert stats["tasks_created"] == len(EDITS), stats
    assert stats["final_status"].get("SUCCEEDED", 0) == len(EDITS), stats
    assert stats["task_queries"] > before["task_queries"], stats
    # A restart is not a user action: on Airflow >= 3.3 the trigger's on_kill() must not have run either.
    assert stats["cancels"] == 0, stats
    assert stats["final_status"].get("CANCELED", 0) == 0, stats


def test_sensor_retry_reattaches_after_polling_errors(stack: AirflowStack) -> None:
    """The deferred sensor's first try gives up on 503s; its retry waits on the same remote task."""
    dag_id = "wx_e2e_sensor_retry"
    wait_for_dag(stack, dag_id)
    run_id = stack.trigger(dag_id)
    run = (dag_id, run_id)

    def sensor_deferred(try_number: int) -> bool:
        row = stack.task_rows(dag_id, run_id).get("wait")
        return row is not None and row["state"] == "deferred" and row["try_number"] == try_number

    stack.wait_for("the sensor's first try to defer", lambda: sensor_deferred(1), run=run)
    # Only the trigger polls now (the worker's own poke ran before deferring): error_budget=1 tolerates one
    # 503, the second ends try 1 with an ``error`` outcome.
    unavailable = {"status": 503, "code": "ServiceUnavailable", "message": "injected by the e2e test"}
    stack.emulator("faults", {"route": "get", "faults": [unavailable, unavailable]})

    def retry_deferred_or_run_failed() -> str | None:
        if sensor_deferred(2):
            return "deferred"
        return "failed" if stack.dag_run_state(dag_id, run_id) == "failed" else None

    if stack.wait_for("the sensor's retry to defer", retry_deferred_or_run_failed) == "failed":
        explain_failed_retry(stack, dag_id, run_id)
    faults = stack.emulator_stats()
    assert faults["faults_pending"] == {}, faults
    assert faults["faults_by_route"].get("get") == 2, faults
    stack.emulator("config", FINISH_REMOTE_TASKS)

    assert stack.wait_for_run_end(dag_id, run_id) == "success", stack.diagnostics()
    assert final_states(stack, dag_id, run_id) == {"submit": "success", "wait": "success"}
    rows = stack.task_rows(dag_id, run_id)
    assert rows["submit"]["try_number"] == 1
    assert rows["wait"]["try_number"] == 2
    first_try = stack.query(
        "SELECT state FROM task_instance_history WHERE dag_id = ? AND run_id = ? AND task_id = 'wait' "
        "AND try_number = 1",
        dag_id,
        run_id,
    )
    assert first_try == [("failed",)], first_try
    assert "Gave up polling" in task_log(stack, dag_id, run_id, "wait", 1)
    remote_ids = return_values(stack, dag_id, run_id)
    assert remote_ids["wait"] == remote_ids["submit"], remote_ids
    stats = stack.emulator_stats()
    print(f"emulator stats after the sensor retry run: {json.dumps(stats)}")
    assert stats["tasks_created"] == 1, stats
    assert stats["final_status"].get("SUCCEEDED", 0) == 1, stats


def task_log(stack: AirflowStack, dag_id: str, run_id: str, task_id: str, attempt: int) -> str:
    path = stack.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
    return (path / f"attempt={attempt}.log").read_text(errors="replace")


def explain_failed_retry(stack: AirflowStack, dag_id: str, run_id: str) -> NoReturn:
    """The run failed instead of retrying: name Airflow 3.1.0's known bug when that is what happened.

    Airflow 3.1.0 keeps ``next_method``/``next_kwargs`` when a resumed task goes up for retry
    (apache/airflow#56704, fixed in 3.1.1 by #56737), so try 2 skips ``execute()`` and replays try 1's
    trigger event into ``execute_complete``: it fails with try 1's error without querying the task at all.
    The signature is exact: try 2's log has the polling error and no deferral of its own. Anything else is a
    real failure of this test.
    """
    second_try = task_log(stack, dag_id, run_id, "wait", 2)
    replayed = "Gave up polling" in second_try and "Pausing task as DEFERRED" not in second_try
    if replayed and STALE_RESUME_ON_RETRY:
        pytest.fail(
            f"Airflow {airflow_version} replayed try 1's trigger event in try 2 (apache/airflow#56704) and "
            "the provider's stale-resume guard (deferred_in_try) did not start the retry over",
            pytrace=False,
        )
    pytest.fail(
        f"the sensor's retry did not re-attach: {stack.task_rows(dag_id, run_id)}\n"
        f"try 2 log:\n{second_try[-3000:]}\n{stack.diagnostics()}",
        pytrace=False,
    )


def test_user_marking_a_deferred_edit_failed_cancels_its_pending_remote_task(stack: AirflowStack) -> None:
    """Two deferred edits, the second queued (PENDING) behind the first; a user marks the queued one failed.

    The user action is the one the UI's "Mark as failed" performs: ``PATCH /api/v2/dags/{dag_id}/dagRuns/
    {run_id}/taskInstances/{task_id}`` with ``{"new_state": "failed"}`` (Airflow has no CLI command for it).
    The task instance leaves DEFERRED, the triggerer's ``Trigger.clean_unused()`` deletes its trigger row, the
    triggerer cancels the trigger's coroutine with the user-action message and Airflow >= 3.3 then awaits
    ``WanxiangTaskTrigger.on_kill()``, which cancels the PENDING remote task. Airflow 3.1 only stops polling:
    the remote edit stays queued and later runs (and is billed) with nothing waiting for it.
    """
    dag_id = "wx_e2e_user_kill"
    wait_for_dag(stack, dag_id)
    # One slot, extra tasks queue PENDING; no PENDING phase of its own, so the first edit RUNs at once.
    stack.emulator("config", {"max_concurrent": 1, "over_concurrency": "queue", "pending_fraction": 0})
    run_id = stack.trigger(dag_id)
    run = (dag_id, run_id)
    edits = ["edit_a", "edit_b"]

    def both_deferred_in_a_triggerer() -> int | None:
        states = stack.task_rows(dag_id, run_id)
        if sorted(states) != edits or any(row["state"] != "deferred" for row in states.values()):
            return None
        owners = set(trigger_rows(stack, dag_id, run_id).values())
        return owners.pop() if len(owners) == 1 and None not in owners else None

    triggerer = stack.wait_for(
        "both edits to be deferred in the triggerer", both_deferred_in_a_triggerer, run=run
    )
    stack.wait_for(
        "the triggerer to poll both edits",
        lambda: all(polled(stack, dag_id, run_id, edit, triggerer) for edit in edits),
        run=run,
    )
    remote_ids, statuses = one_running_one_queued(stack, dag_id, run_id, edits)
    # Which Airflow task submitted first is up to the executor: the user acts on the queued one.
    victim = next(edit for edit in edits if statuses[edit] == "PENDING")
    keeper = next(edit for edit in edits if edit != victim)
    before = stack.emulator_stats()
    assert before["tasks_created"] == 2, before
    assert before["cancels"] == 0, before

    answer = stack.rest(
        "PATCH", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{victim}", {"new_state": "failed"}
    )
    assert [ti["state"] for ti in answer["task_instances"]] == ["failed"], answer

    def victim_trigger_gone() -> bool:
        """The triggerer has ended the victim's trigger (its per-trigger log's last words)."""
        return "trigger completed" in trigger_log(stack, dag_id, run_id, victim, triggerer)

    stack.wait_for("the triggerer to end the marked-failed edit's trigger", victim_trigger_gone)
    victim_log = trigger_log(stack, dag_id, run_id, victim, triggerer)
    after_kill = stack.emulator_stats()
    print(f"emulator stats after the user marked {victim} failed: {json.dumps(after_kill)}")
    if TRIGGER_ON_KILL:
        assert "Trigger cancelled by user action, invoking on_kill" in victim_log, victim_log[-3000:]
        assert f"Canceled pending task {remote_ids[victim]}" in victim_log, victim_log[-3000:]
        assert after_kill["cancels"] == 1, after_kill
        assert after_kill["final_status"]["CANCELED"] == 1, after_kill
        assert stack.remote_status(remote_ids[victim]) == "CANCELED"
    else:
        assert "on_kill" not in victim_log, victim_log[-3000:]
        assert after_kill["cancels"] == 0, after_kill
        assert after_kill["final_status"]["CANCELED"] == 0, after_kill
        assert stack.remote_status(remote_ids[victim]) == "PENDING"
    # The other edit is untouched: still running remotely, still deferred and polled.
    assert stack.remote_status(remote_ids[keeper]) == "RUNNING"
    assert stack.task_rows(dag_id, run_id)[keeper]["state"] == "deferred"
    assert set(trigger_rows(stack, dag_id, run_id)) == {keeper}

    stack.emulator("config", FINISH_QUEUED_REMOTE_TASKS)
    assert stack.wait_for_run_end(dag_id, run_id) == "failed", stack.diagnostics()
    assert final_states(stack, dag_id, run_id) == {keeper: "success", victim: "failed"}
    assert {row["try_number"] for row in stack.task_rows(dag_id, run_id).values()} == {1}
    assert return_values(stack, dag_id, run_id)[keeper] == remote_ids[keeper]
    stats = stack.emulator_stats()
    print(f"emulator stats after the user-kill run: {json.dumps(stats)}")
    assert stats["tasks_created"] == 2, stats
    if TRIGGER_ON_KILL:
        assert stats["cancels"] == 1, stats
        assert stats["final_status"] == {"SUCCEEDED": 1, "FAILED": 0, "CANCELED": 1}, stats
    else:
        # Nothing canceled the queued edit: it ran once the first ended, was paid for, and nobody used it.
        assert stats["cancels"] == 0, stats
        assert stats["final_status"] == {"SUCCEEDED": 2, "FAILED": 0, "CANCELED": 0}, stats


def test_triggers_handed_to_another_triggerer_are_not_canceled(stack: AirflowStack) -> None:
    """A triggerer stalls past the health threshold, a second one takes its triggers, the first wakes up.

    No user acted, so no remote task may be canceled. Airflow 3.3.2 breaks that promise of
    ``BaseTrigger.on_kill()``: the woken triggerer finds the triggers missing from its assignment and cancels
    them with the *user-action* message, so ``on_kill()`` runs while the new triggerer polls the same remote
    task (apache/airflow#73454). The provider's on_kill() first checks that its task instance is no longer
    DEFERRED, so nothing is canceled and both edits succeed.
    """
    dag_id = "wx_e2e_user_kill"
    wait_for_dag(stack, dag_id)
    stack.emulator("config", {"max_concurrent": 1, "over_concurrency": "queue", "pending_fraction": 0})
    first = stack.processes["triggerer"]
    known_jobs = triggerer_jobs(stack)
    second = stack.start_airflow("triggerer-2", "triggerer")
    try:
        run_id = stack.trigger(dag_id)
        run = (dag_id, run_id)
        edits = ["edit_a", "edit_b"]

        def second_job() -> int | None:
            new = triggerer_jobs(stack) - known_jobs
            return new.pop() if len(new) == 1 else None

        def owners_polling() -> dict[str, int] | None:
            """Edit → triggerer job, once both triggerers run and every edit is polled by its owner."""
            owners = trigger_rows(stack, dag_id, run_id)
            if second_job() is None or sorted(owners) != edits or None in owners.values():
                return None
            return owners if all(polled(stack, dag_id, run_id, e, owners[e]) for e in edits) else None

        owners = stack.wait_for("two triggerers up and both edits polled", owners_polling, run=run)
        _, statuses = one_running_one_queued(stack, dag_id, run_id, edits)
        # Stall the triggerer that polls the queued edit: a wrong on_kill() would cancel exactly that one.
        queued = next(edit for edit in edits if statuses[edit] == "PENDING")
        # Job ids grow: the running first triggerer is the newest job recorded before the second started.
        first_job, later_job = max(known_jobs), second_job()
        assert later_job is not None
        stalled_job = owners[queued]
        stalled, other_job = (first, later_job) if stalled_job == first_job else (second, first_job)
        moved = [edit for edit in edits if owners[edit] == stalled_job]

        stalled.signal_group(signal.SIGSTOP)  # no heartbeat, no polling, nothing else: a stalled host
        try:

            def taken_over() -> bool:
                now = trigger_rows(stack, dag_id, run_id)
                return all(now.get(e) == other_job for e in edits) and all(
                    polled(stack, dag_id, run_id, e, other_job) for e in moved
                )

            stack.wait_for("the other triggerer to take the stalled one's triggers", taken_over, run=run)
        finally:
            stalled.signal_group(signal.SIGCONT)
        # The woken triggerer drops the triggers it no longer owns (their per-trigger logs end).
        stack.wait_for(
            "the woken triggerer to drop its triggers",
            lambda: all(
                "trigger completed" in trigger_log(stack, dag_id, run_id, e, stalled_job) for e in moved
            ),
        )
        dropped = {edit: trigger_log(stack, dag_id, run_id, edit, stalled_job) for edit in moved}
        after_wake = stack.emulator_stats()
        print(f"emulator stats after the stalled triggerer woke up: {json.dumps(after_wake)}")
        signature = TRIGGER_ON_KILL and all("invoking on_kill" in log for log in dropped.values())
        # Airflow 3.3 calls on_kill() here (apache/airflow#73454); the provider's guard (the task instance is
        # still DEFERRED) must keep it from canceling anything.
        assert after_wake["cancels"] == 0, (signature, after_wake, dropped)
        stack.emulator("config", FINISH_QUEUED_REMOTE_TASKS)
        assert stack.wait_for_run_end(dag_id, run_id) == "success", stack.diagnostics()
    finally:
        stack.processes.pop("triggerer-2").stop()
        stack.processes["triggerer"] = first
    states = {edit: row["state"] for edit, row in stack.task_rows(dag_id, run_id).items()}
    assert states == dict.fromkeys(edits, "success"), states
    stats = stack.emulator_stats()
    print(f"emulator stats after the hand-over run: {json.dumps(stats)}")
    assert stats["tasks_created"] == 2, stats
    assert stats["cancels"] == 0, stats
    assert stats["final_status"] == {"SUCCEEDED": 2, "FAILED": 0, "CANCELED": 0}, stats
