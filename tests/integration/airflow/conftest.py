"""One emulator for the Airflow integration tests, and the ``wanxiang_default`` connection pointing at it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from airflow_provider_wanxiang.emulator import EmulatorConfig, EmulatorServer

SECRET = "sk-airflow-tests-secret"


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(port=0, api_keys=[SECRET], task_seconds=0.5)) as server:
        yield server


@pytest.fixture(autouse=True)
def _connection(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fresh emulator state and the default connection pointing at it (a module may override ``emulator``)."""
    emulator.reset()
    monkeypatch.setenv(
        "AIRFLOW_CONN_WANXIANG_DEFAULT",
        json.dumps({"conn_type": "wanxiang", "password": SECRET, "host": emulator.url}),
    )
