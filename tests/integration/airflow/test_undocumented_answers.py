"""Answers the docs do not cover, through the trigger and through real Airflow, against a loopback server.

An undocumented status (``SUSPENDED`` is in the SDK's enum, not in this API's docs) is waited on, with one
warning per wait in the task's / trigger's log rather than one per poll; an answer about another task is
never read as this task's outcome.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiohttp import web

from airflow_provider_wanxiang.triggers.wanxiang import WanxiangTaskTrigger
from tests.airflow_runtime import run_dag, task_states, xcom
from tests.crafted_server import CraftedServer

TASK_ID = "5b5b5b5b-0000-4000-8000-000000005005"  # the id the DAGs in wanxiang_answer_dags.py wait on
SUSPENDED_POLLS = 3
WARNING = f"Task {TASK_ID} reports the undocumented status 'SUSPENDED'"


def _suspended_then_succeeded(server: CraftedServer) -> Any:
    def answer(request: web.Request) -> dict[str, Any]:
        task_id = request.path.rsplit("/", 1)[-1]
        if server.requests["get"] <= SUSPENDED_POLLS:
            return {"output": {"task_id": task_id, "task_status": "SUSPENDED"}}
        return {
            "output": {
                "task_id": task_id,
                "task_status": "SUCCEEDED",
                "results": [{"url": "https://oss.example/out.png"}],
                "task_metrics": {"TOTAL": 1, "SUCCEEDED": 1, "FAILED": 0},
            },
            "usage": {"image_count": 1},
        }

    return answer


@pytest.fixture
def server(wanxiang_connection: Callable[..., str]) -> Iterator[CraftedServer]:
    """The loopback server, with the ``wanxiang_default`` connection pointing at it."""
    with CraftedServer() as crafted:
        wanxiang_connection(host=crafted.url, api_key="sk-crafted")
        yield crafted


def _trigger(**kwargs: Any) -> WanxiangTaskTrigger:
    params: dict[str, Any] = {
        "wanxiang_task_id": TASK_ID,
        "wanxiang_conn_id": "wanxiang_default",
        "end_time": time.time() + 60,
        "poll_interval": 0.1,
    }
    return WanxiangTaskTrigger(**{**params, **kwargs})


async def test_trigger_waits_on_an_undocumented_status_and_warns_once(
    server: CraftedServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.answers["get"] = _suspended_then_succeeded(server)
    with caplog.at_level("WARNING"):
        events = [event.payload async for event in _trigger().run()]
    assert [event["status"] for event in events] == ["success"]
    assert server.requests["get"] == SUSPENDED_POLLS + 1
    warnings = [
        record.getMessage() for record in caplog.records if "undocumented status" in record.getMessage()
    ]
    assert len(warnings) == 1 and warnings[0].startswith(WARNING), warnings


async def test_trigger_never_reads_another_tasks_answer_as_this_ones(server: CraftedServer) -> None:
    # A gateway that answers about another (SUCCEEDED) task: the wait must not report success.
    server.answers["get"] = {
        "output": {"task_id": "someone-else", "task_status": "SUCCEEDED", "results": []},
    }
    events = [event.payload async for event in _trigger(error_budget=2).run()]
    (event,) = events
    assert event["status"] == "error"
    assert f"asked for task {TASK_ID}, the answer is about task someone-else" in event["message"]
    assert "after 3 consecutive failed status queries (error_budget=2)" in event["message"]
    assert server.requests["get"] == 3


@pytest.mark.parametrize("mode", ["deferrable", "poke"])
def test_sensor_waits_on_an_undocumented_status_with_one_warning_in_the_log(
    mode: str, server: CraftedServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.answers["get"] = _suspended_then_succeeded(server)
    with caplog.at_level("WARNING", logger="airflow_provider_wanxiang"):
        dag_run = run_dag(f"wx_sensor_{mode}_suspended")
    assert dag_run.state == "success", task_states(dag_run)
    assert xcom(dag_run, "wait", "wanxiang_summary")["task_status"] == "SUCCEEDED"
    assert server.requests["get"] == SUSPENDED_POLLS + 1
    warnings = [record.getMessage() for record in caplog.records if WARNING in record.getMessage()]
    # Poke mode: one wait for the whole try, so one warning, not one per poll. Deferrable: two waits, each
    # warned once: the sensor's check before deferring (task log) and the trigger's (triggerer log).
    assert len(warnings) == (1 if mode == "poke" else 2), warnings
