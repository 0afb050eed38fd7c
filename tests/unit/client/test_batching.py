"""``TaskLister``: list rounds against a list endpoint written here (aiohttp on loopback), counted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import pytest
from aiohttp import web

from airflow_provider_wanxiang.client import AsyncWanxiangClient, ClientConfig, TaskStatus, batching
from airflow_provider_wanxiang.client.batching import LIST_PAGE_SIZE, TaskLister


class ListServer:
    """``GET /api/v1/tasks``: the account's tasks by status, paged as the reference documents."""

    def __init__(self) -> None:
        #: task id -> status as the list writes it (``SUSPENDED`` included: the SDK's enum has it).
        self.tasks: dict[str, str] = {}
        self.requests: list[dict[str, str]] = []
        self.endless = False
        #: Creation time of the first task, epoch ms: a minute ago (a window older than 24 h is never sent).
        self.created_ms = int(time.time() * 1000) - 60_000

    async def handle(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.requests.append(query)
        rows = [
            {"task_id": task_id, "status": status, "gmt_create": self.created_ms + index}
            for index, (task_id, status) in enumerate(self.tasks.items())
            if status == query.get("status")
        ]
        size, number = int(query["page_size"]), int(query["page_no"])
        # An endless server says "next page" forever and repeats its rows on every page.
        page = rows if self.endless else rows[(number - 1) * size : number * size]
        total_pages = number + 1 if self.endless else max(1, -(-len(rows) // size))
        return web.json_response(
            {
                "total": len(rows),
                "data": page,
                "total_page": total_pages,
                "page_no": number,
                "page_size": size,
            }
        )


@pytest.fixture
async def server() -> AsyncIterator[tuple[ListServer, str]]:
    state = ListServer()
    app = web.Application()
    app.router.add_get("/api/v1/tasks", state.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield state, f"http://127.0.0.1:{port}/api/v1"
    finally:
        await runner.cleanup()


@pytest.fixture
async def lister(server: tuple[ListServer, str]) -> AsyncIterator[tuple[TaskLister, list[int]]]:
    _, base_url = server
    budget_taken: list[int] = []

    async def before_query() -> None:
        budget_taken.append(1)

    async with AsyncWanxiangClient(ClientConfig(api_key="sk-test", base_url=base_url)) as client:
        task_lister = TaskLister(client, before_query, budget=10.0)
        yield task_lister, budget_taken
        await task_lister.aclose()


async def test_one_round_answers_every_wait_from_all_pages_and_leaves_the_rest_to_a_get(
    server: tuple[ListServer, str], lister: tuple[TaskLister, list[int]]
) -> None:
    state, _ = server
    task_lister, budget_taken = lister
    state.tasks = {f"r{i}": "RUNNING" for i in range(250)}
    state.tasks |= {"p0": "PENDING", "s0": "SUSPENDED", "done": "SUCCEEDED"}
    asked = ["r0", "r125", "r249", "p0", "s0", "done", "gone"]

    answers = await asyncio.gather(*(task_lister.status_of(task_id) for task_id in asked))

    statuses = [None if answer is None else answer.status for answer in answers]
    # SUSPENDED is not a documented status: never assumed, fetched like a finished or unknown task.
    assert statuses == [TaskStatus.RUNNING] * 3 + [TaskStatus.PENDING, None, None, None]
    # One round: one PENDING page and three RUNNING pages of LIST_PAGE_SIZE, each paid from the budget.
    assert [(r["status"], r["page_no"], r["page_size"]) for r in state.requests] == [
        ("PENDING", "1", str(LIST_PAGE_SIZE)),
        ("RUNNING", "1", str(LIST_PAGE_SIZE)),
        ("RUNNING", "2", str(LIST_PAGE_SIZE)),
        ("RUNNING", "3", str(LIST_PAGE_SIZE)),
    ]
    assert len(budget_taken) == 4
    assert task_lister.rounds == 1
    # Only the asking tasks' creation times are kept (for the window): the other 247 rows are not.
    assert set(task_lister._created) == {"r0", "r125", "r249", "p0"}


async def test_the_next_round_lists_from_just_before_the_oldest_asking_task(
    server: tuple[ListServer, str], lister: tuple[TaskLister, list[int]]
) -> None:
    state, _ = server
    task_lister, _ = lister
    state.tasks = {"a": "RUNNING", "b": "RUNNING"}

    await asyncio.gather(task_lister.status_of("a"), task_lister.status_of("b"))
    assert all("start_time" not in r for r in state.requests), "first round: the default 24 h window"
    state.requests.clear()
    await asyncio.gather(task_lister.status_of("a"), task_lister.status_of("b"))

    # Both were seen with their creation times: the window now starts 5 minutes before the older one
    # (Beijing time, as the API takes it).
    oldest = datetime.fromtimestamp(state.created_ms / 1000, timezone(timedelta(hours=8)))
    expected = (oldest - timedelta(minutes=5)).strftime("%Y%m%d%H%M%S")
    assert {r["start_time"] for r in state.requests} == {expected}


async def test_a_server_that_always_has_a_next_page_cannot_hold_a_round(
    server: tuple[ListServer, str],
    lister: tuple[TaskLister, list[int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    state, _ = server
    task_lister, _ = lister
    monkeypatch.setattr(batching, "MAX_PAGES", 3)
    state.tasks = {"a": "RUNNING"}
    state.endless = True

    answer = await task_lister.status_of("a")

    assert answer is not None and answer.status is TaskStatus.RUNNING
    # PENDING: an empty page ends the status whatever the server says; RUNNING: cut at MAX_PAGES.
    assert [(r["status"], r["page_no"]) for r in state.requests] == [
        ("PENDING", "1"),
        ("RUNNING", "1"),
        ("RUNNING", "2"),
        ("RUNNING", "3"),
    ]


async def test_a_wait_that_stops_asking_is_dropped_from_the_round(
    server: tuple[ListServer, str], lister: tuple[TaskLister, list[int]]
) -> None:
    state, _ = server
    task_lister, _ = lister
    state.tasks = {"a": "RUNNING"}
    asking = asyncio.ensure_future(task_lister.status_of("a"))
    await asyncio.sleep(0)
    asking.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asking
    assert await task_lister.status_of("a") is not None, "the lister still answers the next wait"
