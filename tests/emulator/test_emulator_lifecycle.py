"""Task lifecycle: timing, final states, partial failure, cancel, UNKNOWN, run-time spread."""

from __future__ import annotations

import random
import re
import statistics
import time
from datetime import datetime
from typing import Any

from airflow_provider_wanxiang.emulator.state import draw_run_seconds
from tests.emulator.emu_helpers import Emu, error_of

TIME_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$")


def parse_time(text: str) -> float:
    assert TIME_FORMAT.match(text), text
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").timestamp()


def wait_status(emu: Emu, task_id: str, wanted: str, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = emu.get(task_id)
        if body["output"]["task_status"] == wanted:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.1)  # stay under the 20 QPS query limit


def test_seconds_marker_drives_pending_running_succeeded(make_emu: Any) -> None:
    emu = make_emu(pending_fraction=0.4)
    submitted = time.time()
    task_id = emu.create_ok(prompt="brighter [seconds:1.0]")
    first = emu.get(task_id)["output"]
    assert first["task_status"] == "PENDING"
    assert set(first) == {"task_id", "task_status", "submit_time", "task_metrics"}
    assert first["task_metrics"] == {"TOTAL": 1, "SUCCEEDED": 0, "FAILED": 0}
    running = wait_status(emu, task_id, "RUNNING")["output"]
    assert "scheduled_time" in running and "results" not in running
    done = wait_status(emu, task_id, "SUCCEEDED")
    finished = time.time()
    out = done["output"]
    submit, scheduled, end = (parse_time(out[k]) for k in ("submit_time", "scheduled_time", "end_time"))
    assert abs((end - submit) - 1.0) < 0.01  # exactly the marker's seconds
    assert abs((scheduled - submit) - 0.4) < 0.01  # pending_fraction of it
    assert 0.9 < finished - submitted < 3.0
    assert out["task_metrics"] == {"TOTAL": 1, "SUCCEEDED": 1, "FAILED": 0}
    assert done["usage"] == {"image_count": 1}
    stats = emu.server.stats()
    assert stats["final_status"] == {"SUCCEEDED": 1, "FAILED": 0, "CANCELED": 0}
    assert stats["tasks_created"] == 1
    assert stats["task_queries"] >= 3


def test_times_are_beijing_time(emu: Emu) -> None:
    before = time.time()
    out = emu.get(emu.create_ok())["output"]
    # Parse as a naive wall time, then interpret it as UTC+8.
    naive = datetime.strptime(out["submit_time"], "%Y-%m-%d %H:%M:%S.%f")
    epoch = (naive - datetime(1970, 1, 1)).total_seconds() - 8 * 3600
    assert before - 1 < epoch < time.time() + 1


def test_task_seconds_zero_is_done_at_once_with_documented_shape(emu: Emu) -> None:
    body = emu.get(emu.create_ok(n=2, seed=7))
    out = body["output"]
    assert out["task_status"] == "SUCCEEDED"
    assert [set(r) for r in out["results"]] == [{"orig_prompt", "actual_prompt", "url"}] * 2
    assert out["results"][0]["orig_prompt"] == "make it brighter"
    assert out["results"][0]["actual_prompt"].startswith("make it brighter")
    assert body["usage"] == {"image_count": 2}


def test_prompt_extend_off_omits_actual_prompt(emu: Emu) -> None:
    out = emu.get(emu.create_ok(prompt_extend=False))["output"]
    assert set(out["results"][0]) == {"orig_prompt", "url"}


def test_fail_marker(emu: Emu) -> None:
    body = emu.get(emu.create_ok(prompt="x [fail:InternalError.Algo]", n=2))
    out = body["output"]
    assert out["task_status"] == "FAILED"
    assert out["code"] == "InternalError.Algo"
    assert out["message"] == (
        "An internal error has occured during execution, please try again later or contact service support."
    )
    assert out["task_metrics"] == {"TOTAL": 2, "SUCCEEDED": 0, "FAILED": 2}
    assert "usage" not in body and "results" not in out

    moderated = emu.get(emu.create_ok(prompt="x [fail:DataInspectionFailed]"))["output"]
    assert (moderated["code"], moderated["message"]) == (
        "DataInspectionFailed",
        "Output data may contain inappropriate content.",
    )
    assert emu.server.stats()["final_status"]["FAILED"] == 2


def test_partial_failure(emu: Emu) -> None:
    body = emu.get(emu.create_ok(prompt="x [partial:1]", n=3))
    out = body["output"]
    assert out["task_status"] == "SUCCEEDED"
    assert [("url" in r) for r in out["results"]] == [True, True, False]
    assert out["results"][2] == {
        "code": "DataInspectionFailed",
        "message": "Output data may contain inappropriate content.",
    }
    assert out["task_metrics"] == {"TOTAL": 3, "SUCCEEDED": 2, "FAILED": 1}
    assert body["usage"] == {"image_count": 2}
    assert emu.server.stats()["images_succeeded"] == 2


def test_partial_of_all_images_is_a_failed_task(emu: Emu) -> None:
    body = emu.get(emu.create_ok(prompt="x [partial:5]", n=2))
    assert body["output"]["task_status"] == "FAILED"
    assert body["output"]["code"] == "DataInspectionFailed"
    assert "usage" not in body


def test_cancel_pending_then_canceled(emu: Emu) -> None:
    task_id = emu.create_ok(prompt="slow [seconds:30]")
    response = emu.cancel(task_id)
    assert response.status_code == 200
    assert set(response.json()) == {"request_id"}
    out = emu.get(task_id)["output"]
    assert out["task_status"] == "CANCELED"
    assert out["task_metrics"] == {"TOTAL": 1, "SUCCEEDED": 0, "FAILED": 0}
    again = emu.cancel(task_id)
    assert error_of(again)[1] == "UnsupportedOperation"
    stats = emu.server.stats()
    assert stats["cancels"] == 2 and stats["final_status"]["CANCELED"] == 1


def test_cancel_running_or_finished_is_unsupported(make_emu: Any) -> None:
    emu = make_emu(pending_fraction=0.0)
    running = emu.create_ok(prompt="slow [seconds:30]")
    assert emu.get(running)["output"]["task_status"] == "RUNNING"
    expected = (
        400,
        "UnsupportedOperation",
        "Failed to cancel the task, please confirm if the task is in PENDING status.",
    )
    assert error_of(emu.cancel(running)) == expected
    assert error_of(emu.cancel(emu.create_ok())) == expected
    assert error_of(emu.cancel("no-such-task")) == expected


def test_unknown_other_account_and_expired_ids(emu: Emu) -> None:
    task_id = emu.create_ok()
    unknown = {"task_id": "0385dc79-5ff8-4d82-bcb6-000000000000", "task_status": "UNKNOWN"}
    assert emu.get(unknown["task_id"])["output"] == unknown
    assert emu.get(task_id, key=emu.server.other_api_key)["output"] == {
        "task_id": task_id,
        "task_status": "UNKNOWN",
    }
    assert error_of(emu.cancel(task_id, key=emu.server.other_api_key))[1] == "UnsupportedOperation"
    assert emu.get(task_id)["output"]["task_status"] == "SUCCEEDED"
    emu.server.configure(time_offset=86400)  # a day later the id has expired
    assert emu.get(task_id)["output"] == {"task_id": task_id, "task_status": "UNKNOWN"}


def test_short_task_ttl(make_emu: Any) -> None:
    emu = make_emu(task_ttl=0.3)
    task_id = emu.create_ok()
    assert emu.get(task_id)["output"]["task_status"] == "SUCCEEDED"
    time.sleep(0.35)
    assert emu.get(task_id)["output"]["task_status"] == "UNKNOWN"


def test_keys_of_one_account_share_tasks(make_emu: Any) -> None:
    emu = make_emu()
    task_id = emu.create_ok(key=emu.server.api_key)
    assert emu.get(task_id, key=emu.server.teammate_api_key)["output"]["task_status"] == "SUCCEEDED"
    assert emu.get(task_id, key=emu.server.other_api_key)["output"]["task_status"] == "UNKNOWN"


def test_run_times_are_reproducible_per_seed_and_spread_around_the_median(make_emu: Any) -> None:
    def durations(seed: int) -> list[float]:
        emu = make_emu(task_seconds=100, seed=seed, submit_rps=0, max_concurrent=50)
        ids = [emu.create_ok() for _ in range(4)]
        emu.server.configure(time_offset=10_000)  # jump past every end
        outs = [emu.get(i)["output"] for i in ids]
        return [round(parse_time(o["end_time"]) - parse_time(o["submit_time"]), 3) for o in outs]

    first, again, other = durations(1), durations(1), durations(2)
    assert all(abs(a - b) < 0.005 for a, b in zip(first, again, strict=True))  # timestamps have ms resolution
    assert all(abs(a - b) > 0.1 for a, b in zip(first, other, strict=True))
    assert len(set(first)) == 4  # a spread, not a constant
    samples = [draw_run_seconds(random.Random(i), 45.0, 0.35) for i in range(3000)]
    assert 42 < statistics.median(samples) < 48
    assert min(samples) < 30 and max(samples) > 80
