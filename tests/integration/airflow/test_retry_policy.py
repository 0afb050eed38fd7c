"""Retries only where they can help, through real Airflow (``dag.test()`` runs a task's retries in-process).

A remote task FAILED with a code resubmitting cannot fix fails the Airflow task on its first try (one paid
create, no retries); a transient code is retried (each retry resubmits); a sensor, which never resubmits,
fails on its first try whatever the code.
"""

from __future__ import annotations

import pytest

from airflow_provider_wanxiang.testing.emulator import WanxiangEmulator
from tests.airflow_runtime import run_dag, task_states, xcom


def _ti(dag_run: object, task_id: str) -> object:
    (ti,) = [ti for ti in dag_run.get_task_instances() if ti.task_id == task_id]  # type: ignore[attr-defined]
    return ti


@pytest.mark.parametrize("mode", ["deferred", "polled"])
def test_rejected_edit_fails_at_once(
    mode: str, wanxiang_emulator: WanxiangEmulator, capfd: pytest.CaptureFixture[str]
) -> None:
    dag_run = run_dag(f"wx_fail_rejected_{mode}")
    assert dag_run.state == "failed"
    ti = _ti(dag_run, "edit")
    assert (str(ti.state), ti.try_number) == ("failed", 1)  # type: ignore[attr-defined]
    assert wanxiang_emulator.stats()["tasks_created"] == 1
    assert xcom(dag_run, "edit", "wanxiang_summary")["code"] == "InvalidParameter"
    output = capfd.readouterr()
    assert "WanxiangTaskRejectedError" in output.out + output.err
    assert "Resubmitting cannot fix this" in output.out + output.err


@pytest.mark.parametrize("mode", ["deferred", "polled"])
def test_transient_failure_is_retried(mode: str, wanxiang_emulator: WanxiangEmulator) -> None:
    dag_run = run_dag(f"wx_fail_transient_{mode}")
    assert dag_run.state == "failed"
    ti = _ti(dag_run, "edit")
    assert (str(ti.state), ti.try_number) == ("failed", 3)  # type: ignore[attr-defined]
    # Each try resubmitted (a FAILED task is never re-attached to), so the retries were really spent.
    stats = wanxiang_emulator.stats()
    assert stats["tasks_created"] == 3, stats
    assert stats["final_status"]["FAILED"] == 3


@pytest.mark.parametrize("kind", ["rejected", "transient"])
@pytest.mark.parametrize("mode", ["deferrable", "poke"])
def test_sensor_fails_at_once_on_a_failed_task(
    kind: str, mode: str, wanxiang_emulator: WanxiangEmulator
) -> None:
    dag_run = run_dag(f"wx_fail_{kind}_sensor_{mode}")
    assert dag_run.state == "failed"
    assert task_states(dag_run) == {"submit": "success", "wait": "failed"}
    assert _ti(dag_run, "wait").try_number == 1  # type: ignore[attr-defined]
    stats = wanxiang_emulator.stats()
    assert stats["tasks_created"] == 1
    assert stats["task_queries"] >= 1


@pytest.mark.parametrize("fault", [{"status": 500}, {"drop": True}], ids=["500", "reset"])
def test_an_ambiguous_create_is_named_in_the_log_and_retried(
    fault: dict[str, object], wanxiang_emulator: WanxiangEmulator, capfd: pytest.CaptureFixture[str]
) -> None:
    """The service stored the task, then the answer was lost: the try fails saying the create may have
    been enqueued, and the retry's create is a second remote task (the duplicate the log warns about)."""
    wanxiang_emulator.inject_faults("create", [{**fault, "after_enqueue": True}])
    dag_run = run_dag("wx_ambiguous_create")
    assert dag_run.state == "success"
    assert _ti(dag_run, "edit").try_number == 2  # type: ignore[attr-defined]
    assert wanxiang_emulator.stats()["tasks_created"] == 2
    output = capfd.readouterr()
    assert (output.out + output.err).count("Ambiguous create: the request may have been enqueued") == 1
