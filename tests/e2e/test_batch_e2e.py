"""End to end: a 200-item batch through the real scheduler, LocalExecutor task processes and triggerer,
with the task process and the triggerer SIGKILLed mid-batch (issue 11, "Done when").

What ``dag.test()`` cannot show (tests/integration/batch runs the trigger inline, in one process): a wave
killed by SIGKILL between two ledger records, the retry Airflow schedules for it, and a deferred wave whose
triggerer dies and whose trigger a new triggerer re-creates from its kwargs. Everything is counted, never
timed: the emulator's creates against the items and the ambiguous creates the log names, the 429s it
answered against the items that failed, the outputs in the destination against the report.

Edits are short (``[seconds:0.5]``) except a few groups of five long ones (``[seconds:15]``): a deferrable
wave lingers 3 s after the last end, so it defers exactly when all five slots hold long edits, which is
where the test SIGKILLs the triggerer.
"""

from __future__ import annotations

import json
import signal
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import psutil
import pytest

from airflow_provider_wanxiang.compat import AIRFLOW_V_3_3_PLUS
from tests.e2e.dags.wanxiang_e2e_dags import BATCH_MAX_FAILED
from tests.e2e.stack import AirflowStack
from tests.e2e.test_deferred_e2e import (
    TRIGGER_ON_KILL,
    executor_saw_deferral,
    final_states,
    return_values,
    trigger_rows,
    triggerer_jobs,
    wait_for_dag,
)
from tests.images import open_image, png_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: The service refuses a create above the quota with these codes; none may end up as an item's failure.
THROTTLE_CODES = ("Throttling", "Throttling.RateQuota")
AMBIGUOUS_WARNING = "may have been created (and billed)"
#: The emulator enforces the quota the DAG's operator is given (5 in flight, 5 creates/s).
QUOTA = {"max_concurrent": 5, "submit_rps": 5, "task_seconds_spread": 0, "over_concurrency": "reject"}


def catalogue(
    count: int, *, fail_every: int, partial_every: int, long_at: tuple[int, ...]
) -> list[dict[str, Any]]:
    """``count`` items on one input photo: some moderated (non-retryable failure), some with one of two
    images failing (partial), groups of five long edits starting at ``long_at``, the rest short."""
    items = []
    for index in range(count):
        key = f"sku-{index:04d}"
        long = any(start <= index < start + 5 for start in long_at)
        prompt = f"Put the product on a white background #{index} [seconds:{15 if long else 0.5}]"
        item: dict[str, Any] = {"key": key, "prompt": prompt, "images": ["photo.png"]}
        if not long and index % fail_every == fail_every - 1:
            item["prompt"] += " [fail:DataInspectionFailed]"
        elif not long and index % partial_every == partial_every - 2:
            item["prompt"] += " [partial:1]"
            item["n"] = 2
        items.append(item)
    return items


def write_manifest(folder: Path, items: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "photo.png").write_bytes(png_bytes(480, 400, (20, 160, 90)))
    manifest = folder / "catalogue.jsonl"
    manifest.write_text("".join(json.dumps(item) + "\n" for item in items))
    return manifest


def trigger_batch(stack: AirflowStack, dag_id: str, manifest: Path, destination: Path) -> str:
    """``airflow dags trigger --conf``: the manifest and the destination of this run."""
    run_id = f"e2e__{len(stack.query('SELECT 1 FROM dag_run WHERE dag_id = ?', dag_id))}"
    conf = {"items": str(manifest), "destination": destination.as_uri()}
    stack.cli("dags", "trigger", dag_id, "--run-id", run_id, "--conf", json.dumps(conf))
    return run_id


def batch_row(stack: AirflowStack, dag_id: str, run_id: str) -> dict[str, Any]:
    return stack.task_rows(dag_id, run_id).get("batch") or {"state": None, "try_number": 0}


def task_process(stack: AirflowStack, dag_id: str, run_id: str) -> psutil.Process | None:
    """The batch task's running task process: a descendant of the scheduler (LocalExecutor) that titles
    itself ``airflow worker -- <task instance id>`` (the executor's idle workers have other titles)."""
    rows = stack.query(
        "SELECT id FROM task_instance WHERE dag_id = ? AND run_id = ? AND task_id = 'batch'", dag_id, run_id
    )
    if not rows:
        return None
    title = f"airflow worker -- {uuid.UUID(str(rows[0][0]))}"  # SQLite keeps the UUID as 32 hex digits
    found = []
    for process in stack.processes["scheduler"].descendants():
        try:
            if title in " ".join(process.cmdline()):
                found.append(process)
        except psutil.Error:
            continue
    return found[0] if len(found) == 1 else None


def task_logs(stack: AirflowStack, dag_id: str, run_id: str) -> str:
    folder = stack.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / "task_id=batch"
    tries = [path for path in sorted(folder.glob("attempt=*.log")) if ".trigger." not in path.name]
    return "\n".join(path.read_text(errors="replace") for path in tries)


def ambiguous_keys(log: str) -> set[str]:
    """Items the batch named as possibly created by a killed process (the documented ambiguous window)."""
    keys = set()
    for line in log.splitlines():
        if AMBIGUOUS_WARNING in line and "item '" in line:
            keys.add(line.split("item '", 1)[1].split("'", 1)[0])
    return keys


def read_report(destination: Path) -> dict[str, dict[str, Any]]:
    lines = (destination / "_wanxiang" / "report.jsonl").read_text().splitlines()
    return {line["key"]: line for line in map(json.loads, lines)}


def assert_every_item_accounted(items: list[dict[str, Any]], destination: Path) -> dict[str, dict[str, Any]]:
    """Every item has verified PNG outputs (as many as it asked for, one for a partial edit) or a reported
    failure with its code; no 429 failed any item."""
    report = read_report(destination)
    assert sorted(report) == sorted(item["key"] for item in items)
    for item in items:
        line = report[item["key"]]
        assert line.get("code") not in THROTTLE_CODES, line
        if "[fail:DataInspectionFailed]" in item["prompt"]:
            assert (line["status"], line.get("code")) == ("failed", "DataInspectionFailed"), line
            assert not line.get("outputs"), line
            continue
        assert line["status"] in ("succeeded", "skipped"), line
        expected = 1 if "[partial:1]" in item["prompt"] else item.get("n", 1)
        assert len(line.get("outputs", [])) == expected, line
        if "[partial:1]" in item["prompt"]:
            assert line.get("code"), line  # the failed image of the partial edit is reported
        for uri in line["outputs"]:
            data = Path(unquote(urlparse(uri).path)).read_bytes()
            assert data[:8] == PNG_SIGNATURE, uri
            open_image(data).verify()
    return report


def run_to_success(stack: AirflowStack, dag_id: str, run_id: str) -> None:
    assert stack.wait_for_run_end(dag_id, run_id, timeout=600) == "success", stack.diagnostics()
    assert final_states(stack, dag_id, run_id) == {"batch": "success"}


def sigkill_task_process(stack: AirflowStack, dag_id: str, run_id: str, *, after_creates: int) -> int:
    """Once the first try has created ``after_creates`` tasks, SIGKILL its task process; the pid killed."""

    def running_process() -> psutil.Process | None:
        row = batch_row(stack, dag_id, run_id)
        if row["state"] != "running" or row["try_number"] != 1:
            return None
        if stack.emulator_stats()["tasks_created"] < after_creates:
            return None
        return task_process(stack, dag_id, run_id)

    process = stack.wait_for(
        f"try 1 to run with {after_creates} creates", running_process, run=(dag_id, run_id)
    )
    process.send_signal(signal.SIGKILL)
    psutil.wait_procs([process], timeout=30)
    pid: int = process.pid
    if not AIRFLOW_V_3_3_PLUS:
        clear_after_kill(stack, dag_id, run_id)
    return pid


def clear_after_kill(stack: AirflowStack, dag_id: str, run_id: str) -> None:
    """Airflow 3.1's supervisor reports any non-zero exit of a task process as FAILED, retries or not (3.3
    asks the server whether the try should be retried): there, the user clears the failed task, as the UI's
    "Clear" does, and the new try resumes the batch from its ledger exactly as an automatic retry would."""

    def run_failed() -> bool | None:
        task_failed = batch_row(stack, dag_id, run_id)["state"] == "failed"
        return True if task_failed and stack.dag_run_state(dag_id, run_id) == "failed" else None

    # The run too: cleared before the scheduler's verdict on the run, the verdict would land after the clear
    # and leave the run failed with its task cleared (seen once in CI).
    stack.wait_for("the killed try and its run to be reported failed", run_failed)
    stack.rest(
        "POST",
        f"/dags/{dag_id}/clearTaskInstances",
        {
            "dag_run_id": run_id,
            "task_ids": ["batch"],
            "dry_run": False,
            "only_failed": True,
            "reset_dag_runs": True,
        },
    )
    stack.wait_for(
        "the cleared run to run again",
        lambda: True if stack.dag_run_state(dag_id, run_id) != "failed" else None,
    )


def incremental_reruns(
    stack: AirflowStack, dag_id: str, folder: Path, items: list[dict[str, Any]], destination: Path
) -> tuple[int, int]:
    """A second run over the same items creates nothing; with one prompt changed a third creates one task.
    Returns the creates of each re-run."""
    before = stack.emulator_stats()["tasks_created"]
    manifest = write_manifest(folder, items)
    second = trigger_batch(stack, dag_id, manifest, destination)
    run_to_success(stack, dag_id, second)
    after_second = stack.emulator_stats()["tasks_created"]
    summary = return_values(stack, dag_id, second)["batch"]
    failing = sum("[fail:" in item["prompt"] for item in items)
    assert (summary["succeeded"], summary["skipped"], summary["failed"]) == (0, len(items) - failing, failing)

    changed = [dict(item) for item in items]
    target = next(
        i
        for i, item in enumerate(changed)
        if "[fail" not in item["prompt"] and "[partial" not in item["prompt"]
    )
    changed[target]["prompt"] = changed[target]["prompt"].replace("white background", "grey background")
    manifest = write_manifest(folder, changed)
    third = trigger_batch(stack, dag_id, manifest, destination)
    run_to_success(stack, dag_id, third)
    after_third = stack.emulator_stats()["tasks_created"]
    summary = return_values(stack, dag_id, third)["batch"]
    assert (summary["succeeded"], summary["skipped"]) == (1, len(items) - failing - 1), summary
    assert read_report(destination)[changed[target]["key"]]["status"] == "succeeded"
    return after_second - before, after_third - after_second


def test_deferrable_batch_of_200_survives_task_and_triggerer_sigkill(
    stack: AirflowStack, tmp_path: Path
) -> None:
    dag_id = "wx_e2e_batch_deferrable"
    wait_for_dag(stack, dag_id)
    stack.emulator("config", QUOTA)
    items = catalogue(200, fail_every=25, partial_every=20, long_at=(60, 130))
    failing = sum("[fail:" in item["prompt"] for item in items)
    assert 0 < failing <= BATCH_MAX_FAILED
    folder, destination = tmp_path / "manifest", tmp_path / "out"
    run_id = trigger_batch(stack, dag_id, write_manifest(folder, items), destination)
    run = (dag_id, run_id)

    killed_pid = sigkill_task_process(stack, dag_id, run_id, after_creates=25)

    # The retry reaches the first group of long edits and defers on them: SIGKILL that triggerer.
    def deferred_in_a_triggerer() -> int | None:
        row = batch_row(stack, dag_id, run_id)
        if row["state"] != "deferred" or row["try_number"] < 2:
            return None
        owner = trigger_rows(stack, dag_id, run_id).get("batch")
        return owner if owner is not None else None

    old_triggerer = stack.wait_for("a retry to defer in the triggerer", deferred_in_a_triggerer, run=run)
    created_at_kill = stack.emulator_stats()["tasks_created"]
    stack.processes["triggerer"].kill()
    stack.start_triggerer()

    def taken_over() -> str | None:
        """The wave's trigger assigned to the new triggerer, or already fired (only a live one can fire)."""
        owner = trigger_rows(stack, dag_id, run_id).get("batch")
        if owner is not None and owner != old_triggerer:
            return "reassigned"
        return "fired" if batch_row(stack, dag_id, run_id)["state"] != "deferred" else None

    how = stack.wait_for("a new triggerer to take the deferred wave over", taken_over, run=run)

    run_to_success(stack, dag_id, run_id)
    log = task_logs(stack, dag_id, run_id)
    stats = stack.emulator_stats()
    ambiguous = ambiguous_keys(log)
    tries = batch_row(stack, dag_id, run_id)["try_number"]
    deferrals = log.count("Wanxiang batch: deferring on")
    print(
        f"BATCH-E2E deferrable: items={len(items)} creates={stats['tasks_created']} "
        f"ambiguous={len(ambiguous)} 429s={stats['rejected']} peak_concurrency={stats['peak_concurrency']} "
        f"tries={tries} deferrals={deferrals} killed_task_pid={killed_pid} "
        f"triggerer_killed={old_triggerer} creates_at_triggerer_kill={created_at_kill} take_over={how}"
    )
    assert tries >= 2
    assert deferrals >= 2, deferrals  # waves really waited in a triggerer, before and after its SIGKILL
    assert max(triggerer_jobs(stack)) > old_triggerer  # the new triggerer has a job of its own
    assert len(items) <= stats["tasks_created"] <= len(items) + len(ambiguous), (stats, ambiguous)
    assert stats["cancels"] == 0, stats  # a SIGKILL cancels nothing: the retry re-attached
    assert stats["peak_concurrency"] <= QUOTA["max_concurrent"], stats
    report = assert_every_item_accounted(items, destination)
    summary = return_values(stack, dag_id, run_id)["batch"]
    assert summary["failed"] == failing
    assert sum(line["status"] == "failed" for line in report.values()) == failing

    nothing_new, one = incremental_reruns(stack, dag_id, folder, items, destination)
    print(
        f"BATCH-E2E deferrable re-runs: creates of the same items={nothing_new}, after one prompt "
        f"change={one}"
    )
    assert (nothing_new, one) == (0, 1)


def test_worker_batch_survives_task_sigkill(stack: AirflowStack, tmp_path: Path) -> None:
    dag_id = "wx_e2e_batch_worker"
    wait_for_dag(stack, dag_id)
    stack.emulator("config", QUOTA)
    items = catalogue(60, fail_every=15, partial_every=12, long_at=())
    failing = sum("[fail:" in item["prompt"] for item in items)
    folder, destination = tmp_path / "manifest", tmp_path / "out"
    run_id = trigger_batch(stack, dag_id, write_manifest(folder, items), destination)

    killed_pid = sigkill_task_process(stack, dag_id, run_id, after_creates=20)

    run_to_success(stack, dag_id, run_id)
    log = task_logs(stack, dag_id, run_id)
    stats = stack.emulator_stats()
    ambiguous = ambiguous_keys(log)
    tries = batch_row(stack, dag_id, run_id)["try_number"]
    print(
        f"BATCH-E2E worker: items={len(items)} creates={stats['tasks_created']} ambiguous={len(ambiguous)} "
        f"429s={stats['rejected']} peak_concurrency={stats['peak_concurrency']} tries={tries} "
        f"killed_task_pid={killed_pid}"
    )
    assert tries >= 2
    assert "Wanxiang batch: deferring on" not in log
    assert len(items) <= stats["tasks_created"] <= len(items) + len(ambiguous), (stats, ambiguous)
    assert stats["cancels"] == 0, stats
    assert stats["peak_concurrency"] <= QUOTA["max_concurrent"], stats
    assert_every_item_accounted(items, destination)
    assert return_values(stack, dag_id, run_id)["batch"]["failed"] == failing

    nothing_new, one = incremental_reruns(stack, dag_id, folder, items, destination)
    print(f"BATCH-E2E worker re-runs: creates of the same items={nothing_new}, after one prompt change={one}")
    assert (nothing_new, one) == (0, 1)


def test_user_marking_the_deferred_batch_failed_cancels_its_pending_tasks(
    stack: AirflowStack, tmp_path: Path
) -> None:
    """Five long edits in flight, the account runs two and queues three (PENDING); the batch waits deferred
    and a user marks it failed (the UI's "Mark as failed", ``PATCH .../taskInstances/batch``). Airflow >= 3.3
    then awaits ``WanxiangBatchTrigger.on_kill()``: the three PENDING tasks are canceled, the two RUNNING
    ones cannot be. Airflow 3.1 has no trigger ``on_kill``: nothing is canceled."""
    dag_id = "wx_e2e_batch_deferrable"
    wait_for_dag(stack, dag_id)
    stack.emulator("config", {"max_concurrent": 2, "over_concurrency": "queue", "pending_fraction": 0})
    items = [
        {"key": f"sku-{i}", "prompt": f"Put it on white #{i} [seconds:600]", "images": ["photo.png"]}
        for i in range(10)
    ]
    run_id = trigger_batch(stack, dag_id, write_manifest(tmp_path / "manifest", items), tmp_path / "out")
    run = (dag_id, run_id)

    def deferred_and_polled() -> bool:
        if batch_row(stack, dag_id, run_id)["state"] != "deferred":
            return False
        if trigger_rows(stack, dag_id, run_id).get("batch") is None:
            return False
        return executor_saw_deferral(stack, dag_id, run_id, "batch")

    stack.wait_for("the batch to wait deferred in the triggerer", deferred_and_polled, run=run)
    before = stack.emulator_stats()
    assert before["tasks_created"] == 5, before  # max_concurrent of the operator
    assert before["status_now"] == {"RUNNING": 2, "PENDING": 3}, before

    answer = stack.rest(
        "PATCH", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/batch", {"new_state": "failed"}
    )
    assert [ti["state"] for ti in answer["task_instances"]] == ["failed"], answer
    stack.wait_for("the batch's trigger to be removed", lambda: not trigger_rows(stack, dag_id, run_id))
    if TRIGGER_ON_KILL:
        stack.wait_for("on_kill to cancel", lambda: stack.emulator_stats()["cancels"] >= 5)
    stats = stack.emulator_stats()
    print(f"BATCH-E2E user kill: {json.dumps({k: stats[k] for k in ('cancels', 'status_now')})}")
    assert stats["tasks_created"] == 5, stats  # nothing submitted after the kill
    if TRIGGER_ON_KILL:
        assert stats["cancels"] == 5, stats  # asked for each; the two RUNNING ones were refused
        assert stats["status_now"] == {"RUNNING": 2, "CANCELED": 3}, stats
    else:
        assert stats["cancels"] == 0, stats
        assert stats["status_now"] == {"RUNNING": 2, "PENDING": 3}, stats
    assert stack.wait_for_run_end(dag_id, run_id) == "failed"
