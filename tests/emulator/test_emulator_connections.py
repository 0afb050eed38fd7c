"""The emulator counts the connections that carried API requests, so tests can count a client's sockets."""

from __future__ import annotations

import time
from collections.abc import Callable

import requests

from tests.emulator.emu_helpers import Emu


def _open_connections(emu: Emu, expected: int) -> int:
    """``connections_open`` once the server has seen the clients' closes (they arrive asynchronously)."""
    deadline = time.monotonic() + 10
    while (count := emu.server.stats()["connections_open"]) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return int(count)


def test_keep_alive_requests_share_one_connection_and_new_clients_open_new_ones(
    make_emu: Callable[..., Emu],
) -> None:
    emu = make_emu(query_qps=0)
    task_id = emu.create_ok()
    for _ in range(5):
        emu.get(task_id)
    stats = emu.server.stats()
    assert stats["connections_opened"] == 1, "one keep-alive session, one socket"
    assert stats["task_queries"] == 5

    others = [requests.Session() for _ in range(3)]
    for session in others:
        session.get(f"{emu.base}/tasks/{task_id}", headers=emu.headers(), timeout=30)
    assert emu.server.stats()["connections_opened"] == 4
    assert _open_connections(emu, 4) == 4

    for session in others:
        session.close()
    assert _open_connections(emu, 1) == 1
    emu.session.close()
    assert _open_connections(emu, 0) == 0


def test_a_reset_starts_the_count_again(make_emu: Callable[..., Emu]) -> None:
    emu = make_emu()
    emu.list()
    assert emu.server.stats()["connections_opened"] == 1
    emu = make_emu()
    assert emu.server.stats()["connections_opened"] == 0
