"""Killing the batch task (``on_kill``, what Airflow calls when a user marks it failed): no new create, the
PENDING remote tasks canceled, the ledger kept so a retry re-attaches or resubmits."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from airflow_provider_wanxiang.batch.ledger import Ledger
from airflow_provider_wanxiang.copying.destination import destination_root
from airflow_provider_wanxiang.operators.batch import WanxiangBatchEditOperator
from airflow_provider_wanxiang.testing.emulator import WanxiangEmulator
from tests.integration.batch.conftest import items_for

pytestmark = pytest.mark.integration


def test_on_kill_stops_submitting_and_cancels_pending_tasks(
    wanxiang_emulator: WanxiangEmulator, tmp_path: Path
) -> None:
    # Two slots: two tasks run (and cannot be canceled), a third waits PENDING in the service's queue.
    wanxiang_emulator.configure(
        task_seconds=30, task_seconds_spread=0.0, over_concurrency="queue", max_concurrent=2
    )
    operator = WanxiangBatchEditOperator(
        task_id="batch",
        items=items_for({f"sku-{i}": f"Make it white #{i}" for i in range(6)}),
        destination=str(tmp_path),
        max_concurrent=3,
        deferrable=False,
        poll_interval=0.2,
    )
    errors: list[BaseException] = []

    def run() -> None:
        try:
            operator.execute({"run_id": "manual__kill"})  # type: ignore[arg-type]
        except BaseException as err:  # the kill ends the task with an error, as in Airflow
            errors.append(err)

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 60
    while wanxiang_emulator.stats()["status_now"].get("RUNNING", 0) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)  # the first two leave PENDING after a tenth of their run time (3 s)
    before = wanxiang_emulator.stats()
    assert (before["tasks_created"], before["status_now"]) == (3, {"RUNNING": 2, "PENDING": 1}), before

    operator.on_kill()
    worker.join(30)

    assert not worker.is_alive()
    assert errors and "killed" in str(errors[0])
    stats = wanxiang_emulator.stats()
    assert stats["tasks_created"] == 3  # nothing submitted after the kill
    assert stats["final_status"]["CANCELED"] == 1  # the PENDING one; the running two cannot be
    ledger = Ledger(destination_root(str(tmp_path), None))
    ledger.load()
    assert sorted(e.status.value for e in ledger.entries.values()) == ["submitted"] * 3
