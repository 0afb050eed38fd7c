"""Task listing (shape, window rule, paging) and the per-account rate / concurrency limits."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests

from tests.emulator.emu_helpers import Emu, error_of

BEIJING = timezone(timedelta(hours=8))


def list_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=BEIJING).strftime("%Y%m%d%H%M%S")


def test_list_shape_and_filters(make_emu: Any) -> None:
    emu = make_emu(submit_rps=0)
    before_ms = int(time.time() * 1000)
    done = emu.create_ok()
    failed = emu.create_ok(prompt="[fail:InternalError]")
    pending = emu.create_ok(prompt="[seconds:60]")
    emu.create_ok(key=emu.server.other_api_key)
    response = emu.list()
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"total", "data", "total_page", "page_no", "page_size", "request_id"}
    assert (body["total"], body["total_page"], body["page_no"], body["page_size"]) == (3, 1, 1, 10)
    rows = {row["task_id"]: row for row in body["data"]}
    assert set(rows) == {done, failed, pending}  # only this account's tasks
    row = rows[done]
    assert row["status"] == "SUCCEEDED" and "task_status" not in row
    assert row["model_name"] == "wan2.5-i2i-preview"
    assert row["user_api_unique_key"] == "apikey:v1:aigc:image2image:image-synthesis:wan2.5-i2i-preview"
    assert isinstance(row["gmt_create"], int) and before_ms - 5 <= row["gmt_create"] <= time.time() * 1000 + 5
    assert row["start_time"] >= row["gmt_create"] and row["end_time"] >= row["start_time"]
    assert {"api_key_id", "caller_parent_id", "caller_uid", "region", "request_id"} <= set(row)
    assert "end_time" not in rows[pending] and rows[pending]["status"] == "PENDING"
    assert rows[failed]["status"] == "FAILED"

    only_failed = emu.list(status="FAILED").json()
    assert [r["task_id"] for r in only_failed["data"]] == [failed]
    assert emu.list(model_name="other-model").json()["total"] == 0

    page2 = requests.get(
        emu.base + "/tasks/", params={"page_no": 2, "page_size": 2}, headers=emu.headers(), timeout=10
    ).json()
    assert (page2["total"], page2["total_page"], page2["page_no"], len(page2["data"])) == (3, 2, 2, 1)
    newest_first = [r["gmt_create"] for r in body["data"]]
    assert newest_first == sorted(newest_first, reverse=True)
    assert emu.server.stats()["lists"] == 4


def test_list_window_rule(emu: Emu) -> None:
    task_id = emu.create_ok()
    now = time.time()
    inside = emu.list(start_time=list_time(now - 3600), end_time=list_time(now + 60)).json()
    assert [r["task_id"] for r in inside["data"]] == [task_id]
    earlier = emu.list(start_time=list_time(now - 7200), end_time=list_time(now - 3600)).json()
    assert earlier["total"] == 0
    too_wide = emu.list(start_time=list_time(now - 25 * 3600), end_time=list_time(now))
    assert error_of(too_wide)[:2] == (400, "InvalidParameter")
    start_only_too_old = emu.list(start_time=list_time(now - 25 * 3600))
    assert error_of(start_only_too_old)[:2] == (400, "InvalidParameter")
    assert error_of(emu.list(start_time="2025-01-01"))[:2] == (400, "InvalidParameter")
    assert error_of(emu.list(page_size=0))[:2] == (400, "InvalidParameter")


def test_submit_rate_limit(make_emu: Any) -> None:
    emu = make_emu(submit_rps=2, max_concurrent=100)
    codes = [emu.create().status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert error_of(emu.create()) == (
        429,
        "Throttling.RateQuota",
        "Requests rate limit exceeded, please try again later.",
    )
    time.sleep(1.05)
    assert emu.create().status_code == 200
    stats = emu.server.stats()
    assert stats["tasks_created"] == 3
    assert stats["rejected"] == {"Throttling.RateQuota": 2}
    assert stats["peak_creates_per_second"] == 2  # the two first creates; the third came a second later


def test_slot_gaps_measure_a_freed_slot_until_the_next_create(make_emu: Any) -> None:
    emu = make_emu(submit_rps=0, max_concurrent=100, task_seconds=0.0)
    emu.create_ok()  # ends at once: its slot is free from its creation on
    assert emu.server.stats()["slot_gaps"] == {"count": 0, "mean": 0.0, "max": 0.0}
    offset = emu.server.configure()["time_offset"]
    emu.server.configure(time_offset=offset + 10.0)  # the emulator's clock moves 10 s on
    emu.create_ok()

    gaps = emu.server.stats()["slot_gaps"]
    assert gaps["count"] == 1 and gaps["mean"] >= 10.0  # the second create took the slot freed 10 s before


def test_peak_creates_per_second_counts_accepted_creates_in_one_second(make_emu: Any) -> None:
    emu = make_emu(submit_rps=0, max_concurrent=100)
    for _ in range(4):
        assert emu.create().status_code == 200
    assert emu.server.stats()["peak_creates_per_second"] == 4


def test_rate_limit_is_per_account(make_emu: Any) -> None:
    emu = make_emu(submit_rps=1)
    assert emu.create(key=emu.server.api_key).status_code == 200
    assert emu.create(key=emu.server.api_key).status_code == 429
    assert emu.create(key=emu.server.other_api_key).status_code == 200


def test_concurrency_limit_rejects_and_frees_on_cancel(make_emu: Any) -> None:
    emu = make_emu(max_concurrent=2, submit_rps=0)
    first = emu.create_ok(prompt="[seconds:30]")
    emu.create_ok(prompt="[seconds:30]")
    response = emu.create(prompt="[seconds:30]")
    assert error_of(response) == (429, "Throttling", "Requests throttling triggered.")
    assert "Retry-After" not in response.headers  # off by default, like the real service
    assert emu.cancel(first).status_code == 200
    assert emu.create(prompt="[seconds:30]").status_code == 200
    assert emu.server.stats()["peak_concurrency"] == 2


def test_retry_after_knob(make_emu: Any) -> None:
    emu = make_emu(max_concurrent=1, submit_rps=0, retry_after=3)
    emu.create_ok(prompt="[seconds:30]")
    response = emu.create(prompt="[seconds:30]")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"


def test_finished_tasks_free_their_slot(make_emu: Any) -> None:
    emu = make_emu(max_concurrent=1, submit_rps=0)
    emu.create_ok(prompt="[seconds:0.3]")
    assert emu.create(prompt="[seconds:0.3]").status_code == 429
    time.sleep(0.35)
    assert emu.create(prompt="[seconds:0.3]").status_code == 200


def test_queue_mode_keeps_extra_tasks_pending(make_emu: Any) -> None:
    emu = make_emu(max_concurrent=1, submit_rps=0, over_concurrency="queue", pending_fraction=0.0)
    first = emu.create_ok(prompt="[seconds:0.6]")
    second = emu.create_ok(prompt="[seconds:0.6]")
    third = emu.create_ok(prompt="[seconds:30]")
    assert emu.get(first)["output"]["task_status"] == "RUNNING"
    assert emu.get(second)["output"]["task_status"] == "PENDING"
    # Cancelling the queued third task is allowed (it is PENDING) and does not disturb the others.
    assert emu.cancel(third).status_code == 200
    time.sleep(0.7)
    assert emu.get(first)["output"]["task_status"] == "SUCCEEDED"
    out = emu.get(second)["output"]
    assert out["task_status"] == "RUNNING"
    time.sleep(0.6)
    done = emu.get(second)["output"]
    assert done["task_status"] == "SUCCEEDED"
    first_end = emu.get(first)["output"]["end_time"]
    assert done["scheduled_time"] == first_end  # started exactly when the slot freed
    stats = emu.server.stats()
    assert (stats["peak_running"], stats["peak_concurrency"]) == (1, 3)


def test_queue_mode_cancel_moves_the_queue_up(make_emu: Any) -> None:
    emu = make_emu(max_concurrent=1, submit_rps=0, over_concurrency="queue", pending_fraction=0.0)
    emu.create_ok(prompt="[seconds:0.5]")
    blocker = emu.create_ok(prompt="[seconds:60]")
    waiting = emu.create_ok(prompt="[seconds:0.2]")
    assert emu.cancel(blocker).status_code == 200
    time.sleep(0.8)
    assert emu.get(waiting)["output"]["task_status"] == "SUCCEEDED"


def test_query_rate_limit(make_emu: Any) -> None:
    emu = make_emu(query_qps=3)
    task_id = emu.create_ok()
    codes = [
        requests.get(f"{emu.base}/tasks/{task_id}", headers=emu.headers(), timeout=10).status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    assert emu.list().status_code == 200  # separate bucket per operation


def test_queue_mode_schedule_is_fifo_within_the_limit(make_emu: Any) -> None:
    emu = make_emu(max_concurrent=2, submit_rps=0, over_concurrency="queue", pending_fraction=0.0)
    ids = [emu.create_ok(prompt="[seconds:10]") for _ in range(5)]
    emu.server.configure(time_offset=1000)  # look at the finished schedule
    outs = [emu.get(i)["output"] for i in ids]
    first_submit = datetime.strptime(outs[0]["submit_time"], "%Y-%m-%d %H:%M:%S.%f")
    waits = [
        round((datetime.strptime(o["scheduled_time"], "%Y-%m-%d %H:%M:%S.%f") - first_submit).total_seconds())
        for o in outs
    ]
    assert waits == [0, 0, 10, 10, 20]
    assert emu.server.stats()["peak_running"] == 2


def test_list_filters_by_api_key_id_and_region(make_emu: Any) -> None:
    # Two keys of one account: the account sees both keys' tasks, api_key_id singles out one key's.
    emu = make_emu(submit_rps=0)
    key, teammate = emu.server.api_key, emu.server.teammate_api_key
    first = emu.create_ok(key=key)
    second = emu.create_ok(key=teammate)
    everything = emu.list(key=key).json()
    key_ids = {row["task_id"]: row["api_key_id"] for row in everything["data"]}
    assert set(key_ids) == {first, second} and key_ids[first] != key_ids[second]

    only_first = emu.list(key=key, api_key_id=key_ids[first]).json()
    assert [row["task_id"] for row in only_first["data"]] == [first]
    assert only_first["total"] == 1
    only_second = emu.list(key=key, api_key_id=key_ids[second]).json()
    assert [row["task_id"] for row in only_second["data"]] == [second]
    assert emu.list(key=key, api_key_id="999999").json()["total"] == 0

    region = everything["data"][0]["region"]
    assert emu.list(key=key, region=region).json()["total"] == 2
    elsewhere = emu.list(key=key, region="cn-beijing" if region != "cn-beijing" else "cn-hongkong")
    assert elsewhere.status_code == 200
    assert (elsewhere.json()["total"], elsewhere.json()["data"]) == (0, [])
    both = emu.list(key=key, region=region, api_key_id=key_ids[second]).json()
    assert [row["task_id"] for row in both["data"]] == [second]


@pytest.mark.parametrize("status", ["SUSPENDED", "DONE", "succeeded!"])
def test_list_rejects_an_unknown_status(emu: Emu, status: str) -> None:
    emu.create_ok()
    status_code, code, message = error_of(emu.list(status=status))
    assert (status_code, code) == (400, "InvalidParameter")
    assert "status" in message and repr(status) in message
    # The documented statuses are accepted (any case, as before).
    assert emu.list(status="SUCCEEDED").json()["total"] == 1
    assert emu.list(status="succeeded").json()["total"] == 1
    assert emu.list(status="UNKNOWN").json()["total"] == 0


def test_list_pages_cost_their_own_query_limit_and_hold_at_most_100_rows(make_emu: Any) -> None:
    # What the pool's list rounds rely on (reference 1.2 and 4.5): each list page counts against the
    # account's 20 QPS list limit (here 3/s), and a page holds at most 100 tasks.
    emu = make_emu(query_qps=3, submit_rps=0)
    emu.create_ok()
    codes = [emu.list(page_size=100).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert emu.server.stats()["rejected"] == {"Throttling.RateQuota": 1}
    time.sleep(1.1)  # the limit is per second: the next second's pages are served again
    status_code, code, message = error_of(emu.list(page_size=101))
    assert (status_code, code) == (400, "InvalidParameter")
    assert "page_size" in message and "[1, 100]" in message and "'101'" in message
