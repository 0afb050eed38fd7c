"""Answers are checked, not trusted: both clients over real HTTP against a server that answers broken JSON.

A tiny loopback server (:mod:`tests.crafted_server`) plays a misbehaving gateway. Each class of broken
answer must end in a :class:`MalformedResponseError` that names what was wrong, on the sync and the async
transport alike, after one request.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from airflow_provider_wanxiang.client import MalformedResponseError, TaskStatus, build_edit_request
from tests.crafted_server import CraftedServer
from tests.images import png_data_uri
from tests.integration.client.conftest import SleepRecorder, make_config, open_client

pytestmark = pytest.mark.integration

ASKED = "0385dc79-5ff8-4d82-bcb6-000000000001"
OTHER = "0385dc79-5ff8-4d82-bcb6-000000000002"
ATTEMPTS = 3


def _task(task_id: str = ASKED, **output: Any) -> dict[str, Any]:
    return {"output": {"task_id": task_id, "task_status": "SUCCEEDED", **output}}


def _echo(**output: Any) -> Any:
    """An answer about the very task asked for (so only the field under test is wrong)."""

    def answer(request: web.Request) -> dict[str, Any]:
        return _task(request.path.rsplit("/", 1)[-1], **output)

    return answer


GOOD_RESULTS = {"results": [{"url": "https://oss.example/x.png"}]}

GET_CASES = {
    "another task_id": (
        _task(OTHER, **GOOD_RESULTS),
        f"asked for task {ASKED}, the answer is about task {OTHER}",
    ),
    "results not a list": (_echo(results="x.png"), "output.results is 'x.png' (a string), expected an array"),
    "results missing on SUCCEEDED": (_echo(), "a SUCCEEDED task without output.results"),
    "TOTAL not a number": (
        _echo(**GOOD_RESULTS, task_metrics={"TOTAL": "abc"}),
        "output.task_metrics.TOTAL is 'abc' (a string), expected an integer >= 0",
    ),
    "task_metrics a list": (
        _echo(**GOOD_RESULTS, task_metrics=[1, 1, 0]),
        "output.task_metrics is [1, 1, 0] (an array), expected an object",
    ),
    "image_count not a number": (
        lambda request: {**_echo(**GOOD_RESULTS)(request), "usage": {"image_count": "lots"}},
        "usage.image_count is 'lots' (a string), expected an integer >= 0",
    ),
    "usage a string": (
        lambda request: {**_echo(**GOOD_RESULTS)(request), "usage": "one image"},
        "usage is 'one image' (a string), expected an object",
    ),
}


@pytest.fixture
def server() -> Iterator[CraftedServer]:
    with CraftedServer() as crafted:
        yield crafted


@pytest.fixture(params=["sync", "async"])
def client(request: pytest.FixtureRequest, server: CraftedServer) -> Iterator[Any]:
    with open_client(
        request.param, make_config(server.base_url, SleepRecorder(), max_attempts=ATTEMPTS)
    ) as opened:
        yield opened


@pytest.mark.parametrize("case", list(GET_CASES))
def test_broken_task_answers_raise_a_clear_error(case: str, server: CraftedServer, client: Any) -> None:
    server.answers["get"], message = GET_CASES[case]
    with pytest.raises(MalformedResponseError) as info:
        client.get_task(ASKED)
    assert str(info.value).startswith("get task: ")
    assert message in str(info.value)
    # One request: the client does not resend on a parse failure. The error is retryable, so a waiting
    # loop (trigger, sensor, operator) asks again within its error budget.
    assert server.requests["get"] == 1
    assert info.value.retryable


def test_a_well_formed_answer_passes(server: CraftedServer, client: Any) -> None:
    server.answers["get"] = _echo(**GOOD_RESULTS, task_metrics={"TOTAL": 1, "SUCCEEDED": 1, "FAILED": 0})
    task = client.get_task(ASKED)
    assert (task.task_id, task.status, len(task.results)) == (ASKED, TaskStatus.SUCCEEDED, 1)
    assert server.requests["get"] == 1


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            {"output": {"task_id": 12345, "task_status": "PENDING"}},
            "create: output.task_id is 12345 (a number)",
        ),
        ({"output": "0385dc79"}, "create: output is '0385dc79' (a string), expected an object"),
    ],
)
def test_broken_create_answers_raise_a_clear_error_and_are_never_resent(
    answer: dict[str, Any], message: str, server: CraftedServer, client: Any
) -> None:
    server.answers["create"] = answer
    with pytest.raises(MalformedResponseError, match=re.escape(message)):
        client.create_task(build_edit_request(prompt="p", images=[png_data_uri(512, 512)]))
    assert server.requests["create"] == 1  # the task may exist: a resend could pay twice


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"total": 1, "data": ["0385dc79"]}, "list: data[0] is '0385dc79' (a string), expected an object"),
        ({"total": "many", "data": []}, "list: total is 'many' (a string), expected an integer >= 0"),
        (
            {"data": [{"task_id": ASKED, "status": "RUNNING", "gmt_create": "today"}]},
            "list: data[0].gmt_create is 'today' (a string), expected epoch milliseconds",
        ),
    ],
)
def test_broken_list_pages_raise_a_clear_error(
    answer: dict[str, Any], message: str, server: CraftedServer, client: Any
) -> None:
    server.answers["list"] = answer
    with pytest.raises(MalformedResponseError, match=re.escape(message)):
        client.list_tasks()
    assert server.requests["list"] == 1
