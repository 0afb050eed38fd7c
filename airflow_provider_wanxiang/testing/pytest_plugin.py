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
``wanxiang_emulator.inject_faults(...)``; both are undone by the next test's reset. The fixture's value is
a :class:`~airflow_provider_wanxiang.testing.emulator.WanxiangEmulator` (an ``EmulatorServer`` with a
second key of the same account, a key of another account and ``restore()``).

``wanxiang_connection(conn_id=..., host=..., api_key=..., **extra)`` sets any other Wanxiang connection for
one test (a proxy, a region, a server of your own), without writing the JSON by hand.

Imports of the emulator are deferred to the fixture, so the plugin costs nothing in test runs that do not
use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_wanxiang.testing.connection import connection_env_var, connection_json

if TYPE_CHECKING:
    from airflow_provider_wanxiang.testing.emulator import WanxiangEmulator

API_KEY = "sk-emulator"  # = testing.emulator.API_KEY, kept here so importing the plugin stays cheap


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("wanxiang_emulator_task_seconds", "median emulated edit duration in seconds", default="1")
    parser.addini(
        "wanxiang_emulator_conn_id", "connection id pointed at the emulator", default="wanxiang_default"
    )


@pytest.fixture(scope="session")
def _wanxiang_emulator_session(pytestconfig: pytest.Config) -> Iterator[WanxiangEmulator]:
    from airflow_provider_wanxiang.testing.emulator import WanxiangEmulator

    task_seconds = float(pytestconfig.getini("wanxiang_emulator_task_seconds"))
    server = WanxiangEmulator(task_seconds).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def wanxiang_connection(monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Set a Wanxiang connection for this test: ``wanxiang_connection(host=..., api_key=..., **extra)``.

    ``conn_id`` defaults to ``wanxiang_default``; ``extra`` holds the connection's extra fields (``proxy``,
    ``region``, ``workspace_id``, ...). Returns the JSON it set; the variable is removed after the test.
    """

    def set_connection(
        conn_id: str = "wanxiang_default",
        *,
        host: str | None = None,
        api_key: str | None = None,
        **extra: Any,
    ) -> str:
        value = connection_json(host=host, api_key=api_key, **extra)
        monkeypatch.setenv(connection_env_var(conn_id), value)
        return value

    return set_connection


@pytest.fixture
def wanxiang_emulator(
    _wanxiang_emulator_session: WanxiangEmulator,
    pytestconfig: pytest.Config,
    wanxiang_connection: Callable[..., str],
) -> WanxiangEmulator:
    """A running emulator with a fresh state, and the Wanxiang connection pointing at it."""
    server = _wanxiang_emulator_session
    server.restore()
    wanxiang_connection(
        str(pytestconfig.getini("wanxiang_emulator_conn_id")), host=server.url, api_key=server.api_key
    )
    return server
