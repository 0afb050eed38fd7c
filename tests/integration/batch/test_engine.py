"""The batch engine against the real emulator over HTTP: quota, pacing, 429s, money guard, resubmission
policy, resume after a SIGKILL, ambiguous creates, S3 destinations and scale. Counts are taken at the
emulator (what the service saw), never from the client."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_wanxiang.batch.engine import AMBIGUOUS_CODE, BUDGET_CODE, TIMEOUT_CODE
from airflow_provider_wanxiang.batch.ledger import Entry, ItemStatus, Ledger
from airflow_provider_wanxiang.batch.report import summarize, write_report
from airflow_provider_wanxiang.client import ClientConfig, WanxiangValidationError
from airflow_provider_wanxiang.testing.emulator import WanxiangEmulator
from tests.integration.batch.conftest import IMAGE, S3_CONN_ID, Batch, items_for, read_report
from tests.integration.copy.conftest import MotoS3

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]


def prompts(count: int, marker: str = "") -> dict[str, str]:
    return {f"sku-{i:05d}": f"Put the product on white {marker} #{i}" for i in range(count)}


def test_never_above_max_concurrent_nor_submit_rps_as_the_service_counts(
    emulator: WanxiangEmulator, tmp_path: Path
) -> None:
    # The service itself does not limit here: the counts show what the engine alone keeps to.
    emulator.configure(submit_rps=0, max_concurrent=1000, task_seconds=2.0, task_seconds_spread=0.0)
    batch = Batch(emulator, str(tmp_path), items_for(prompts(12)))

    result = batch.wave(max_concurrent=4, submit_rps=3.0)

    stats = emulator.stats()
    assert result.finished and stats["tasks_created"] == 12
    assert stats["peak_concurrency"] == 4  # the window was used, never exceeded
    assert stats["peak_creates_per_second"] <= 3
    assert stats["final_status"]["SUCCEEDED"] == 12


def test_429_on_create_shrinks_the_window_and_fails_no_item(
    emulator: WanxiangEmulator, tmp_path: Path
) -> None:
    # The account holds only 2 slots (another job uses the rest): the engine, told 5, meets 429s.
    emulator.configure(max_concurrent=2, task_seconds=0.5, task_seconds_spread=0.0)
    batch = Batch(emulator, str(tmp_path), items_for(prompts(10)))

    result = batch.wave(max_concurrent=5, submit_rps=5.0)

    stats = emulator.stats()
    assert stats["rejected"].get("Throttling", 0) >= 1  # the scenario really hit the limit
    assert result.finished
    assert stats["tasks_created"] == 10  # a 429 was never created, nothing paid twice
    summary = summarize(batch.plans, batch.ledger, "run-1")
    assert (summary["succeeded"], summary["failed"]) == (10, 0)


def test_items_ask_for_more_than_max_images_nothing_is_created(
    emulator: WanxiangEmulator, tmp_path: Path
) -> None:
    batch = Batch(emulator, str(tmp_path), items_for(prompts(4), n=2))

    with pytest.raises(WanxiangValidationError) as raised:
        batch.wave(max_images=7)

    assert raised.value.field == "max_images"
    assert "ask for 8 images, more than max_images=7" in str(raised.value)
    assert emulator.stats()["tasks_created"] == 0


def test_max_images_is_never_passed_by_resubmissions(emulator: WanxiangEmulator, tmp_path: Path) -> None:
    items = items_for({"ok": "Make it white", "flaky": "Make it red [fail:InternalError.Algo]"})
    batch = Batch(emulator, str(tmp_path), items)

    batch.wave(max_images=2, resubmit_attempts=3)

    assert emulator.stats()["tasks_created"] == 2  # the resubmission would pass the budget
    assert batch.ledger.entries["flaky"].code == BUDGET_CODE


def test_resubmits_only_what_a_new_attempt_can_fix(emulator: WanxiangEmulator, tmp_path: Path) -> None:
    items = items_for(
        {
            "internal": "Make it red [fail:InternalError.Algo]",
            "moderated": "Make it red [fail:DataInspectionFailed]",
            "invalid": "Make it red [fail:InvalidParameter]",
            "ok": "Make it white",
        }
    )
    batch = Batch(emulator, str(tmp_path), items)

    batch.wave(resubmit_attempts=1)

    # 4 first attempts + 1 resubmission of the InternalError only.
    assert emulator.stats()["tasks_created"] == 5
    write_report(batch.root, batch.plans, batch.ledger, "run-1")
    report = read_report(tmp_path)
    assert {key: line.get("code") for key, line in report.items()} == {
        "internal": "InternalError.Algo",
        "moderated": "DataInspectionFailed",
        "invalid": "InvalidParameter",
        "ok": None,
    }
    assert report["ok"]["outputs"] == [f"{tmp_path.as_uri()}/ok/0.png"]

    # The next run resubmits the InternalError again, and never the two that would fail the same way.
    Batch(emulator, str(tmp_path), items).wave(run_id="run-2", resubmit_attempts=0)
    assert emulator.stats()["tasks_created"] == 6


def test_task_timeout_cancels_a_pending_task_and_the_rest_of_the_batch_goes_on(
    emulator: WanxiangEmulator, tmp_path: Path
) -> None:
    # 90 % of a task's run time is PENDING: the stuck edit stays PENDING for 54 s, the others for 0.27 s.
    emulator.configure(pending_fraction=0.9)
    prompts = {"stuck": "Make it white [seconds:60]", **{f"ok-{i}": f"Make it white #{i}" for i in range(4)}}
    batch = Batch(emulator, str(tmp_path), items_for(prompts))

    assert batch.wave(task_timeout=1.5).finished

    stats = emulator.stats()
    assert stats["tasks_created"] == 5
    assert (stats["cancels"], stats["final_status"]["CANCELED"]) == (1, 1)
    write_report(batch.root, batch.plans, batch.ledger, "run-1")
    report = read_report(tmp_path)
    assert (report["stuck"]["status"], report["stuck"]["code"]) == ("failed", TIMEOUT_CODE)
    assert (
        "task_timeout=1.5 s" in report["stuck"]["message"]
        and "canceled while PENDING" in report["stuck"]["message"]
    )
    assert {key: line["status"] for key, line in report.items() if key != "stuck"} == dict.fromkeys(
        [f"ok-{i}" for i in range(4)], "succeeded"
    )


def test_task_timeout_of_a_running_task_reports_it_and_a_later_run_reattaches(
    emulator: WanxiangEmulator, tmp_path: Path
) -> None:
    emulator.configure(pending_fraction=0)  # RUNNING at once: it cannot be canceled
    items = items_for({"slow": "Make it white [seconds:4]", "ok": "Make it white"})
    batch = Batch(emulator, str(tmp_path), items)

    batch.wave(task_timeout=1.0)

    assert emulator.stats()["final_status"]["CANCELED"] == 0
    write_report(batch.root, batch.plans, batch.ledger, "run-1")
    report = read_report(tmp_path)
    assert (report["slow"]["status"], report["slow"]["code"]) == ("failed", TIMEOUT_CODE)
    assert "could not be canceled" in report["slow"]["message"]
    assert report["ok"]["status"] == "succeeded"

    # The next run waits for the same remote task (no timeout now) and stores its result: nothing paid twice.
    later = Batch(emulator, str(tmp_path), items)
    assert later.wave(run_id="run-2").finished
    assert emulator.stats()["tasks_created"] == 2
    assert (tmp_path / "slow" / "0.png").read_bytes()[:4] == b"\x89PNG"


def test_resume_after_sigkill_reattaches_in_flight_and_skips_done(
    emulator: WanxiangEmulator, tmp_path: Path
) -> None:
    emulator.configure(task_seconds=1.0, task_seconds_spread=0.0)
    manifest = tmp_path / "items.jsonl"
    items = items_for(prompts(12))
    manifest.write_text("".join(json.dumps(item) + "\n" for item in items))
    destination = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.batch.killable_batch",
            emulator.base_url,
            emulator.api_key,
            str(destination),
            str(manifest),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while emulator.stats()["tasks_created"] < 5 and time.monotonic() < deadline:
            assert process.poll() is None, "the batch ended before it could be killed"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(30)
    created_before = emulator.stats()["tasks_created"]
    assert 5 <= created_before < 12

    batch = Batch(emulator, str(destination), str(manifest))
    engine = batch.engine(max_concurrent=3)
    result = asyncio.run(engine.run(batch.ambiguous))

    assert result.finished
    # At most the one item between its durable intent and its durable task id is ambiguous; it is named and
    # submitted again. Every other create of the killed process was re-attached, not paid again. The kill may
    # land before or after that item's create reached the service, so a named item is paid twice at most
    # (CI saw both: 13 creates, and 12 with one item named).
    assert len(batch.ambiguous) <= 1
    total = emulator.stats()["tasks_created"]
    assert 12 <= total <= 12 + len(batch.ambiguous)
    assert 12 - created_before <= engine.created <= 12 - created_before + len(batch.ambiguous)
    summary = summarize(batch.plans, batch.ledger, "run-1")
    assert (summary["succeeded"], summary["failed"]) == (12, 0)
    for item in items:
        assert (destination / item["key"] / "0.png").stat().st_size > 0

    # A third process finds everything done: nothing created, nothing copied again.
    again = Batch(emulator, str(destination), str(manifest))
    assert again.wave().created == 0
    assert emulator.stats()["tasks_created"] == total


def test_an_intent_without_a_task_id_is_named_as_an_ambiguous_create(
    emulator: WanxiangEmulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    batch = Batch(emulator, str(tmp_path), items_for(prompts(2)))
    # What a process killed between recording the intent and the task id leaves behind.
    ledger = Ledger(batch.root)
    ledger.record("sku-00001", Entry(batch.plans[1].fingerprint, ItemStatus.INTENT, run="run-1"))
    asyncio.run(ledger.close())

    with caplog.at_level("WARNING"):
        batch.wave()

    assert batch.ambiguous == ["sku-00001"]
    assert "item 'sku-00001' may have been created (and billed)" in caplog.text
    assert emulator.stats()["tasks_created"] == 2


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 500, "after_enqueue": True},
        {"drop": True, "after_enqueue": True},
        {"status": 502},  # never enqueued here, but nothing a client sees says so
    ],
    ids=["500-after-enqueue", "reset-after-enqueue", "502"],
)
def test_a_create_that_may_have_been_enqueued_is_not_paid_again_in_the_same_try(
    emulator: WanxiangEmulator, tmp_path: Path, caplog: pytest.LogCaptureFixture, fault: dict[str, Any]
) -> None:
    emulator.configure(submit_rps=0)
    batch = Batch(emulator, str(tmp_path), items_for(prompts(3)))
    emulator.inject_faults("create", [fault])
    enqueued = 1 if fault.get("after_enqueue") else 0

    with caplog.at_level("WARNING"):
        assert batch.wave(max_images=4).finished

    # The first create failed in a way that may have billed it: it is named, counted against max_images, and
    # not created again; the other two items are done.
    stats = emulator.stats()
    assert stats["tasks_created"] == 2 + enqueued
    assert "create of item 'sku-00000' is unconfirmed" in caplog.text
    assert batch.ledger.entries["sku-00000"].requested == 1
    write_report(batch.root, batch.plans, batch.ledger, "run-1")
    report = read_report(tmp_path)
    assert (report["sku-00000"]["status"], report["sku-00000"]["code"]) == ("failed", AMBIGUOUS_CODE)
    assert report["sku-00000"]["wanxiang_task_id"] is None
    assert summarize(batch.plans, batch.ledger, "run-1")["failed_items"] == {"sku-00000": AMBIGUOUS_CODE}

    # A later wave of the same try (a deferred batch resuming) leaves it alone ...
    later = batch.wave(resubmit_unconfirmed=False)
    assert later.finished and later.created == 0
    assert emulator.stats()["tasks_created"] == 2 + enqueued

    # ... a new try (the user's retry) submits it again, naming it, within what max_images still allows.
    caplog.clear()
    with caplog.at_level("WARNING"):
        retry = batch.wave(max_images=4)
    assert retry.created == 1 and batch.ambiguous == ["sku-00000"]
    assert "item 'sku-00000' may have been created (and billed)" in caplog.text
    assert emulator.stats()["tasks_created"] == 3 + enqueued
    assert batch.ledger.entries["sku-00000"].requested == 2
    summary = summarize(batch.plans, batch.ledger, "run-1")
    assert (summary["succeeded"], summary["failed"]) == (3, 0)


def test_a_create_refused_before_enqueueing_is_sent_again_in_the_same_wave(
    emulator: WanxiangEmulator, tmp_path: Path
) -> None:
    emulator.configure(submit_rps=0)
    batch = Batch(emulator, str(tmp_path), items_for(prompts(3)))
    emulator.inject_faults("create", [{"status": 503, "retry_after": 0}])

    assert batch.wave().finished

    stats = emulator.stats()
    assert (stats["faults_by_route"]["create"], stats["tasks_created"]) == (1, 3)
    summary = summarize(batch.plans, batch.ledger, "run-1")
    assert (summary["succeeded"], summary["failed"]) == (3, 0)


def test_a_new_edit_with_fewer_images_leaves_no_old_image_beside_the_new_ones(
    emulator: WanxiangEmulator, tmp_path: Path
) -> None:
    keys = {"fewer": "Make it white", "partial": "Make it white", "same": "Make it white"}
    Batch(emulator, str(tmp_path), items_for(keys, n=2)).wave()
    assert sorted(p.name for p in (tmp_path / "fewer").iterdir()) == ["0.png", "1.png"]
    old_same = (tmp_path / "same" / "1.png").read_bytes()

    # Run 2: one item now asks for one image, one gets only one of its two, one is unchanged (skipped).
    items = [
        *items_for({"fewer": "Make it grey"}, n=1),
        *items_for({"partial": "Make it grey [partial:1]"}, n=2),
        *items_for({"same": "Make it white"}, n=2),
    ]
    batch = Batch(emulator, str(tmp_path), items)
    batch.wave(run_id="run-2")

    write_report(batch.root, batch.plans, batch.ledger, "run-2")
    report = read_report(tmp_path)
    for key in ("fewer", "partial"):
        # The destination holds exactly what the report lists: the old 1.png went with the new edit.
        assert report[key]["outputs"] == [f"{tmp_path.as_uri()}/{key}/0.png"]
        assert sorted(p.name for p in (tmp_path / key).iterdir()) == ["0.png"]
        assert batch.ledger.entries[key].superseded == ()
    assert report["same"]["status"] == "skipped"
    assert (tmp_path / "same" / "1.png").read_bytes() == old_same
    assert emulator.stats()["tasks_created"] == 5


def test_outputs_ledger_and_report_on_s3(emulator: WanxiangEmulator, moto_s3: MotoS3, s3_bucket: str) -> None:
    destination = f"s3://{S3_CONN_ID}@{s3_bucket}/catalogue"
    items = items_for({"a": "Make it white", "b": "Make it blue [partial:1]"}, n=2)
    batch = Batch(emulator, destination, items)

    batch.wave()
    write_report(batch.root, batch.plans, batch.ledger, "run-1")

    keys = moto_s3.keys(s3_bucket)
    assert {"catalogue/a/0.png", "catalogue/a/1.png", "catalogue/b/0.png"} <= set(keys)
    assert "catalogue/_wanxiang/ledger/index.json" in keys  # compacted; no appends needed
    assert not [key for key in keys if "/seg-" in key]  # the absorbed segments are gone
    assert moto_s3.multipart_uploads(s3_bucket) == []
    body = moto_s3.client.get_object(Bucket=s3_bucket, Key="catalogue/_wanxiang/report.jsonl")["Body"].read()
    lines = {line["key"]: line for line in map(json.loads, body.decode().splitlines())}
    assert lines["b"]["outputs"] == [f"s3://{s3_bucket}/catalogue/b/0.png"]

    # A resume reads the ledger from S3 and finds both done (outputs listed and sizes equal).
    assert Batch(emulator, destination, items).wave(run_id="run-2").created == 0


SCALE_ITEMS = int(os.environ.get("WANXIANG_BATCH_SCALE_ITEMS", "2000"))


@pytest.fixture
def emulator_process() -> Iterator[str]:
    """An emulator in a process of its own (so the test process's traced memory is the batch's alone):
    instant edits, no rate or concurrency limit. Yields its URL."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider_wanxiang.emulator",
            "--port",
            "0",
            "--task-seconds",
            "0",
            "--submit-rps",
            "0",
            "--max-concurrent",
            "100000",
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "listening on" in line, line
        url = line.rsplit(" ", 1)[1].strip()
        requests.post(f"{url}/_emulator/config", json={"query_qps": 0, "task_seconds_spread": 0}, timeout=10)
        yield url
    finally:
        process.terminate()
        process.wait(30)


def test_scale_creates_equal_items_and_memory_stays_bounded(
    emulator_process: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``SCALE_ITEMS`` (2,000 by default; ``WANXIANG_BATCH_SCALE_ITEMS=10000`` for the full case) instant
    edits from a JSON Lines manifest: one create per item, and the batch's peak traced memory stays far
    below one stored image per item (each output PNG is ~60 KB): the in-flight set plus the compact index.

    Identical edits with a fixed seed, so the emulator renders one picture, not one per task.
    """
    caplog.set_level(logging.WARNING)  # a log record per image would be the harness's memory, not ours
    manifest = tmp_path / "items.jsonl"
    with manifest.open("w") as handle:
        for index in range(SCALE_ITEMS):
            item = {
                "key": f"sku-{index:05d}",
                "prompt": "Put the product on white",
                "images": [IMAGE],
                "seed": 1,
            }
            handle.write(json.dumps(item) + "\n")
    config = ClientConfig(api_key="sk-emulator", base_url=f"{emulator_process}/api/v1", query_budget=10_000)
    batch = Batch(None, str(tmp_path / "out"), str(manifest), config)  # type: ignore[arg-type]
    engine = batch.engine(max_concurrent=50, submit_rps=1000.0, poll_interval=0.05)

    tracemalloc.start()
    try:
        result = asyncio.run(engine.run(batch.ambiguous))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert result.finished
    stats = requests.get(f"{emulator_process}/_emulator/stats", timeout=10).json()
    assert stats["tasks_created"] == SCALE_ITEMS
    summary = summarize(batch.plans, batch.ledger, "run-1")
    assert (summary["succeeded"], summary["images"]) == (SCALE_ITEMS, SCALE_ITEMS)
    per_item = peak / SCALE_ITEMS
    print(f"batch scale: {SCALE_ITEMS} items, tracemalloc peak {peak / 1e6:.1f} MB ({per_item:.0f} B/item)")
    # A stored image is ~60 KB: holding one per item would be far above this bound (16 MB fixed for the
    # session, sockets, threads and the harness, plus 2 KB per item for the compact index and the plans).
    assert peak < 16_000_000 + 2_000 * SCALE_ITEMS, f"{per_item:.0f} bytes per item"
