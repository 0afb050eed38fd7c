"""Scripted and random faults, latency, and the /_emulator control endpoints."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.emulator.emu_helpers import Emu, error_of


def outcome(call: Any) -> str:
    """A response's status code, or "drop" if the connection was closed without an answer."""
    try:
        return str(call().status_code)
    except requests.ConnectionError:
        return "drop"


def test_scripted_status_drop_and_delay_on_get(emu: Emu) -> None:
    task_id = emu.create_ok()
    emu.server.inject_faults(
        "get",
        [
            {"status": 503, "code": "ServiceUnavailable", "message": "try later", "retry_after": 2},
            {"drop": True},
            {"delay": 0.4},
        ],
    )
    url = f"{emu.base}/tasks/{task_id}"
    first = requests.get(url, headers=emu.headers(), timeout=10)
    assert error_of(first) == (503, "ServiceUnavailable", "try later")
    assert first.headers["Retry-After"] == "2"
    with pytest.raises(requests.ConnectionError):
        requests.get(url, headers=emu.headers(), timeout=10)
    started = time.monotonic()
    delayed = requests.get(url, headers=emu.headers(), timeout=10)
    assert delayed.status_code == 200 and time.monotonic() - started >= 0.4
    assert requests.get(url, headers=emu.headers(), timeout=10).status_code == 200  # queue consumed
    stats = emu.server.stats()
    assert stats["faults_injected"] == 2
    assert stats["faults_by_route"] == {"get": 2}


def test_scripted_faults_over_http_and_the_any_route(emu: Emu) -> None:
    response = emu.control("POST", "faults", json={"route": "*", "faults": [{"status": 500}]})
    assert response.json() == {"pending": {"*": 1}}
    assert error_of(emu.list()) == (
        500,
        "InternalError",
        "An internal error has occured, please try again later or contact service support.",
    )
    assert emu.list().status_code == 200
    assert (
        emu.control("POST", "faults", json={"route": "nope", "faults": [{"status": 500}]}).status_code == 400
    )
    assert (
        emu.control("POST", "faults", json={"route": "get", "faults": [{"status": 200}]}).status_code == 400
    )
    emu.control("POST", "faults", json={"route": "get", "faults": [{"drop": True}]})
    assert emu.control("DELETE", "faults").json() == {"pending": {}}


def test_create_faults_happen_before_enqueue_unless_asked(emu: Emu) -> None:
    emu.server.inject_faults("create", [{"status": 429}, {"drop": True}])
    assert emu.create().status_code == 429
    assert outcome(emu.create) == "drop"
    assert emu.server.stats()["tasks_created"] == 0
    emu.server.inject_faults(
        "create", [{"status": 500, "after_enqueue": True}, {"drop": True, "after_enqueue": True}]
    )
    assert emu.create().status_code == 500
    assert outcome(emu.create) == "drop"
    stats = emu.server.stats()
    assert stats["tasks_created"] == 2  # both were stored: a blind retry would pay twice
    assert emu.list().json()["total"] == 2


def test_scripted_faults_on_oss_routes_answer_xml(emu: Emu) -> None:
    url = emu.get(emu.create_ok())["output"]["results"][0]["url"]
    emu.server.inject_faults("result", [{"status": 503}])
    response = requests.get(url, timeout=10)
    assert response.status_code == 503 and "<Code>ServiceUnavailable</Code>" in response.text
    assert requests.get(url, timeout=10).status_code == 200


def test_fault_rate_is_reproducible_per_seed(make_emu: Any) -> None:
    def run(seed: int) -> list[str]:
        emu = make_emu(fault_rate=0.5, seed=seed, query_qps=0)
        url = f"{emu.base}/tasks/some-id"
        return [outcome(lambda: requests.get(url, headers=emu.headers(), timeout=10)) for _ in range(24)]

    first, again, other = run(7), run(7), run(8)
    assert first == again
    assert first != other
    assert {"200", "429", "500", "503", "drop"} <= set(first) | set(other)
    assert 4 <= first.count("200") <= 20


def test_random_create_faults_never_store_tasks(make_emu: Any) -> None:
    emu = make_emu(fault_rate=1.0, submit_rps=0)
    results = {outcome(emu.create) for _ in range(8)}
    assert results <= {"429", "500", "503", "drop"}
    stats = emu.server.stats()
    assert (stats["tasks_created"], stats["faults_injected"]) == (0, 8)


def test_create_fault_after_enqueue_rate(make_emu: Any) -> None:
    emu = make_emu(create_fault_after_enqueue_rate=1.0, submit_rps=0, max_concurrent=100)
    results = [outcome(emu.create) for _ in range(6)]
    assert set(results) <= {"500", "drop"}
    assert emu.server.stats()["tasks_created"] == 6


def test_latency_knob(make_emu: Any) -> None:
    emu = make_emu(latency=0.3)
    started = time.monotonic()
    assert emu.list().status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    assert emu.control("GET", "health").status_code == 200
    assert time.monotonic() - started < 0.3  # control endpoints are never slowed


def test_stats_reset_config_health(emu: Emu) -> None:
    assert emu.control("GET", "health").json()["status"] == "ok"
    emu.create_ok()
    emu.create(images=["file:///x.png"])
    stats = emu.control("GET", "stats").json()
    for key in ("tasks_created", "task_queries", "cancels", "lists", "uploads", "result_downloads"):
        assert key in stats
    assert stats["tasks_created"] == 1
    assert stats["rejected"] == {"InvalidURL": 1}
    assert stats["final_status"] == {"SUCCEEDED": 1, "FAILED": 0, "CANCELED": 0}

    changed = emu.control("POST", "config", json={"task_seconds": 30, "max_concurrent": 1}).json()
    assert (changed["task_seconds"], changed["max_concurrent"]) == (30.0, 1)
    assert emu.get(emu.create_ok())["output"]["task_status"] == "PENDING"
    assert emu.create().status_code == 429  # max_concurrent=1 is live
    assert emu.control("POST", "config", json={"port": 1}).status_code == 400
    assert emu.control("POST", "config", json={"fault_rate": 2}).status_code == 400
    assert emu.control("POST", "config", json={"over_concurrency": "drop"}).status_code == 400
    assert "sk-emulator" not in emu.control("GET", "config").text  # keys are never echoed

    assert emu.control("POST", "reset").status_code == 200
    after = emu.server.stats()
    assert (after["tasks_created"], after["requests"], after["rejected"]) == (0, 0, {})
    assert emu.server.config.task_seconds == 30  # knobs survive a reset
    assert emu.list().json()["total"] == 0


def test_requests_outside_the_api_are_counted_apart(emu: Emu) -> None:
    """A benchmark counts the polls of a client that can only poll a URL until it stops answering 404
    (HttpSensorTrigger) here; they must not inflate the API request count the limits are about."""
    task_id = emu.create_ok()
    root = emu.base.rsplit("/api/v1", 1)[0]
    before = emu.server.stats()
    for _ in range(3):
        assert requests.get(f"{root}/pending/{task_id}.png", timeout=10).status_code == 404
    assert requests.get(f"{emu.base}/tasks/{task_id}", headers=emu.headers(), timeout=10).status_code == 200
    after = emu.server.stats()
    assert after["other_requests"] - before["other_requests"] == 3
    assert after["requests"] - before["requests"] == 1


def download_outcome(url: str) -> str:
    """A result download's status, "drop" for a reset before any answer, "cut" for a body cut short."""
    try:
        response = requests.get(url, timeout=10)
    except requests.exceptions.ChunkedEncodingError:
        return "cut"  # headers arrived, then fewer bytes than Content-Length before the reset
    except requests.ConnectionError:
        return "drop"
    return str(response.status_code)


def test_download_fault_rate_faults_result_downloads_only(make_emu: Any) -> None:
    """Result downloads get 429/500/503, resets before and in the middle of the body; the API does not."""
    emu = make_emu(download_fault_rate=1.0, seed=3, max_concurrent=100, submit_rps=0, query_qps=0)
    url = emu.get(emu.create_ok())["output"]["results"][0]["url"]
    outcomes = [download_outcome(url) for _ in range(30)]
    assert {"429", "500", "503", "drop", "cut"} == set(outcomes)
    stats = emu.server.stats()
    assert stats["faults_by_route"] == {"result": 30}
    assert stats["result_downloads"] == outcomes.count("cut")  # a cut download was rendered, then cut


def test_a_cut_download_announces_the_whole_length_and_sends_half(emu: Emu) -> None:
    url = emu.get(emu.create_ok())["output"]["results"][0]["url"]
    whole = requests.get(url, timeout=10).content
    emu.server.inject_faults("result", [{"cut": True}])
    with requests.get(url, timeout=10, stream=True) as response:
        assert int(response.headers["Content-Length"]) == len(whole)
        received = b""
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            for chunk in response.iter_content(1024):
                received += chunk
    assert 0 < len(received) <= len(whole) // 2
    assert received == whole[: len(received)]


def test_slow_answers_join_the_random_faults(make_emu: Any) -> None:
    """With ``fault_slow_seconds`` some faulted requests are only late, then answered normally (counted)."""
    emu = make_emu(fault_rate=1.0, fault_slow_seconds=0.05, seed=5, query_qps=0)
    outcomes = [outcome(emu.list) for _ in range(25)]
    stats = emu.server.stats()
    assert outcomes.count("200") == stats["slowed_by_route"]["list"] > 0
    assert stats["faults_injected"] == 25 - outcomes.count("200")
    assert emu.control("POST", "config", json={"fault_slow_seconds": -1}).status_code == 400
    assert emu.control("POST", "config", json={"download_fault_rate": 1.5}).status_code == 400
