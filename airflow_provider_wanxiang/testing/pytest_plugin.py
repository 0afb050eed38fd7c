"""pytest plugin: a ``wanxiang_emulator`` fixture so users test their own DAGs offline in one line.

Registered through the ``pytest11`` entry point, so installing the provider is enough::

    def test_my_dag(wanxiang_emulator):
        dag_run = my_dag.test()
        assert dag_run.state == "success"
        assert wanxiang_emulator.stats()["tasks_created"] == 1

The fixture starts the bundled DashScope-compatible emulator on a free loopback port (once per session),
points the ``wanxiang_default`` connection at it for the test (``AIRFLOW_CONN_WANXIANG_DEFAULT``), and
resets its tasks, statistics and knobs before each test. Tune it with ini options (``pytest.ini`` /
``[tool.pytest.ini_options]``):

- ``wanxiang_emulator_task_seconds`` — median remote run time (default ``1``; ``0`` = done at once);
- ``wanxiang_emulator_conn_id`` — the connection id to set (default ``wanxiang_default``).

Per test, change knobs with ``wanxiang_emulator.configure(...)`` or inject faults with
``wanxiang_emulator.inject_faults(...)``; both are undone by the next test's reset.

Imports of the emulator are deferred to the fixture, so the plugin costs nothing in test runs that do not
use it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from airflow_provider_wanxiang.emulator import EmulatorServer

API_KEY = "sk-emulator"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("wanxiang_emulator_task_seconds", "median emulated edit duration in seconds", default="1")
    parser.addini(
        "wanxiang_emulator_conn_id", "connection id pointed at the emulator", default="wanxiang_default"
    )


@pytest.fixture(scope="session")
def _wanxiang_emulator_session(
    pytestconfig: pytest.Config,
) -> Iterator[tuple[EmulatorServer, dict[str, Any]]]:
    from airflow_provider_wanxiang.emulator import EmulatorConfig, EmulatorServer
    from airflow_provider_wanxiang.emulator.config import LIVE_KNOBS

    task_seconds = float(pytestconfig.getini("wanxiang_emulator_task_seconds"))
    with EmulatorServer(EmulatorConfig(port=0, api_keys=[API_KEY], task_seconds=task_seconds)) as server:
        knobs = {name: value for name, value in server.configure().items() if name in LIVE_KNOBS}
        yield server, knobs  # the knobs every test starts from


@pytest.fixture
def wanxiang_emulator(
    _wanxiang_emulator_session: tuple[EmulatorServer, dict[str, Any]],
    pytestconfig: pytest.Config,
    monkeypatch: pytest.MonkeyPatch,
) -> EmulatorServer:
    """A running emulator with a fresh state, and the Wanxiang connection pointing at it."""
    server, initial_knobs = _wanxiang_emulator_session
    server.reset()
    server.configure(**initial_knobs)
    conn_id = str(pytestconfig.getini("wanxiang_emulator_conn_id"))
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}",
        json.dumps({"conn_type": "wanxiang", "password": API_KEY, "host": server.url}),
    )
    return server
