"""Both transports against a server that misbehaves on purpose (real sockets on loopback).

A server that trickles its answer one byte at a time (in the body, or in the headers) must not hold a call
past its total deadline; a 50 MB body or a gzip bomb must end as a clear error after a bounded number of
decoded bytes; a server's endless error message must arrive bounded. Every test runs against the sync and
the async client. ``pytest.mark.timeout`` is the hang guard: a call that ignored its deadline would hang
until the server's safety net (minutes), and the test would fail there.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_wanxiang.client import (
    BadRequestError,
    DeadlineExceededError,
    MalformedResponseError,
    ResponseTooLargeError,
)
from airflow_provider_wanxiang.client.limits import MAX_RESPONSE_BYTES, MAX_SERVER_TEXT_CHARS
from tests.integration.client.conftest import SleepRecorder, make_config, open_client
from tests.integration.hostile_server import HostileServer

pytestmark = pytest.mark.integration

#: Per-read timeout far above the drip interval (0.5 s), so only the total deadline can end the call.
READ_TIMEOUT = 5.0
TOTAL = 2.0


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    server = HostileServer()
    yield server
    server.close()


@pytest.fixture(params=["sync", "async"])
def edge_client(
    request: pytest.FixtureRequest, hostile: HostileServer, sleeps: SleepRecorder
) -> Iterator[Any]:
    config = make_config(
        hostile.base_url, sleeps, max_attempts=1, timeout=(2.0, READ_TIMEOUT), total_timeout=TOTAL
    )
    with open_client(request.param, config) as client:
        yield client


#: The size tests are about the byte cap, not the clock: a deadline this far out cannot end them first,
#: even on a loaded machine where inflating a megabyte of zeros is slow.
ROOMY_TOTAL = 45.0


@pytest.fixture(params=["sync", "async"])
def roomy_client(
    request: pytest.FixtureRequest, hostile: HostileServer, sleeps: SleepRecorder
) -> Iterator[Any]:
    config = make_config(
        hostile.base_url, sleeps, max_attempts=1, timeout=(2.0, READ_TIMEOUT), total_timeout=ROOMY_TOTAL
    )
    with open_client(request.param, config) as client:
        yield client


@pytest.mark.timeout(30)
@pytest.mark.parametrize("mode", ["drip_body", "drip_headers"])
def test_a_trickling_answer_ends_at_the_total_deadline(
    edge_client: Any, hostile: HostileServer, mode: str
) -> None:
    hostile.reset(mode, interval=0.5)
    with pytest.raises(DeadlineExceededError) as caught:
        edge_client.get_task("task-1")
    assert f"total deadline of {TOTAL:g} s" in str(caught.value)
    assert caught.value.retryable  # like a read timeout: the policy may try again
    assert hostile.requests == [("GET", "/api/v1/tasks/task-1")]
    if mode == "drip_body":
        # It did trickle (more than one read), and the call was cut long before the 100,000 bytes.
        assert 1 < hostile.bytes_sent < 100


@pytest.mark.timeout(60)
def test_a_trickling_answer_is_retried_within_the_policy(
    hostile: HostileServer, sleeps: SleepRecorder, any_kind: str
) -> None:
    """Each attempt has its own deadline; the retry policy (GET is idempotent) decides the rest."""
    hostile.reset("drip_body", interval=0.5)
    config = make_config(
        hostile.base_url, sleeps, max_attempts=2, timeout=(2.0, READ_TIMEOUT), total_timeout=1.0
    )
    with open_client(any_kind, config) as client, pytest.raises(DeadlineExceededError):
        client.list_tasks()
    assert hostile.requests == [("GET", "/api/v1/tasks")] * 2


@pytest.fixture(params=["sync", "async"])
def any_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("announce", [True, False], ids=["announced", "unannounced"])
def test_a_50_mb_answer_is_refused_after_a_bounded_read(
    roomy_client: Any, hostile: HostileServer, announce: bool
) -> None:
    hostile.reset("big", big_bytes=50 * 1024 * 1024, announce=announce)
    with pytest.raises(ResponseTooLargeError) as caught:
        roomy_client.list_tasks()
    error = caught.value
    assert isinstance(error, MalformedResponseError)
    assert not error.retryable
    assert f"{MAX_RESPONSE_BYTES:,}-byte cap" in str(error)
    if announce:
        assert "announces 52,428,800 bytes" in str(error) and "nothing was read" in str(error)
    else:
        read = int(re.search(r"stopped after ([\d,]+) decoded bytes", str(error)).group(1).replace(",", ""))
        assert MAX_RESPONSE_BYTES < read <= MAX_RESPONSE_BYTES + 64 * 1024


@pytest.mark.timeout(120)
def test_a_gzip_bomb_is_refused_after_a_bounded_number_of_decoded_bytes(
    roomy_client: Any, hostile: HostileServer
) -> None:
    """300 MB of zeros in ~300 KB of gzip: inflating it all would cost 300 MB of memory."""
    hostile.reset("gzip_bomb", bomb_bytes=300 * 1024 * 1024)
    with pytest.raises(ResponseTooLargeError) as caught:
        roomy_client.get_task("task-1")
    read = int(
        re.search(r"stopped after ([\d,]+) decoded bytes", str(caught.value)).group(1).replace(",", "")
    )
    # max_length inflation: never more than the cap plus one byte, whatever a compressed chunk holds.
    assert read == MAX_RESPONSE_BYTES + 1


def test_a_gzip_answer_of_normal_size_is_decoded(edge_client: Any, hostile: HostileServer) -> None:
    """The cap is on decoded bytes, not a refusal of compression: a gzipped answer of 600 KB reads fine."""
    results = [{"url": f"https://results.example.com/{index}.png?sig=" + "s" * 1000} for index in range(4)]
    output = {"task_id": "task-1", "task_status": "SUCCEEDED", "results": results, "pad": "p" * 600_000}
    hostile.reset("json", compress=True, payload={"request_id": "r1", "output": output})
    task = edge_client.get_task("task-1")
    assert [result.url for result in task.results] == [result["url"] for result in results]


def test_an_endless_server_message_is_bounded(edge_client: Any, hostile: HostileServer) -> None:
    hostile.reset(
        "json",
        status=400,
        payload={"code": "InvalidParameter", "message": "x" * 100_000, "request_id": "r" * 10_000},
    )
    with pytest.raises(BadRequestError) as caught:
        edge_client.get_task("task-1")
    error = caught.value
    assert error.code == "InvalidParameter"
    assert len(error.message) <= MAX_SERVER_TEXT_CHARS
    assert "100,000 chars" in error.message  # the cut says how long it was
    assert len(str(error)) < MAX_SERVER_TEXT_CHARS + 300
    assert error.request_id is not None and len(error.request_id) <= 100


def test_a_long_task_message_is_bounded_in_the_parsed_task(edge_client: Any, hostile: HostileServer) -> None:
    """A FAILED task's message goes into events, XCom and logs: bounded where it is parsed."""
    hostile.reset(
        "json",
        status=200,
        payload={
            "request_id": "r1",
            "output": {
                "task_id": "task-1",
                "task_status": "FAILED",
                "code": "InternalError",
                "message": "boom " * 50_000,
                "results": [{"code": "X" * 1000, "message": "m" * 200_000}],
            },
        },
    )
    task = edge_client.get_task("task-1")
    assert task.message is not None and len(task.message) <= MAX_SERVER_TEXT_CHARS
    assert task.code == "InternalError"
    assert task.results[0].message is not None and len(task.results[0].message) <= MAX_SERVER_TEXT_CHARS
    assert task.results[0].code is not None and len(task.results[0].code) <= 100
