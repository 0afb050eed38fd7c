"""``make airflow`` (scripts/airflow_stack.py): the connection is in the metadata DB and can be tested there.

The stack's own preparation (``prepare``: migrate, pool, ``airflow connections add``) runs on a temporary
Airflow home; the connection then points at the test's emulator. The UI itself is not driven here; what it
shows and tests comes from the same DB row and the same ``[core] test_connection`` setting the CLI reads.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest
from packaging.version import Version

if TYPE_CHECKING:
    from airflow_provider_wanxiang.testing.emulator import WanxiangEmulator

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "airflow_stack.py"
AIRFLOW = str(Path(sys.executable).parent / "airflow")
AIRFLOW_3_1_0 = Version(importlib.metadata.version("apache-airflow")) == Version("3.1.0")


@pytest.fixture(scope="module")
def airflow_stack() -> ModuleType:
    spec = importlib.util.spec_from_file_location("airflow_stack", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cli(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [AIRFLOW, *args], env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def _last_json(output: str) -> list[dict[str, str]]:
    """Airflow's ``-o json`` output comes after its log lines: take the last line that parses."""
    for line in reversed(output.splitlines()):
        try:
            parsed = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(parsed, list):
            return parsed
    raise AssertionError(f"no JSON list in {output!r}")


@pytest.mark.timeout(240)
def test_the_connection_is_stored_in_the_db_and_airflow_connections_test_reaches_the_emulator(
    airflow_stack: ModuleType, wanxiang_emulator: WanxiangEmulator, tmp_path: Path
) -> None:
    env = airflow_stack.stack_env(tmp_path / "home", 8080)
    assert not any(name.startswith("AIRFLOW_CONN_") for name in env)  # only the DB can supply it
    airflow_stack.prepare(env, "http://127.0.0.1:9")  # an earlier `make airflow`, another emulator port
    airflow_stack.store_connection(env, wanxiang_emulator.url)  # the next one replaces it

    (stored,) = _last_json(_cli(env, "connections", "get", "wanxiang_default", "-o", "json"))
    assert stored["id"]  # a row of the metadata DB (no environment variable is set)
    assert stored["conn_type"] == "wanxiang"
    assert stored["host"] == wanxiang_emulator.url  # the earlier row was replaced

    lists_before = wanxiang_emulator.stats()["lists"]
    output = _cli(env, "connections", "test", "wanxiang_default")
    assert wanxiang_emulator.api_key not in output
    if AIRFLOW_3_1_0:
        # apache/airflow#56155: on 3.1.0 `airflow connections test` fails for every Task SDK hook (the SDK's
        # connection lookup wants a task supervisor), before any request; later releases test it.
        assert "Connection failed!" in output and "SUPERVISOR_COMMS" in output
        tested = 0
    else:
        assert "Connection success!" in output
        tested = 1  # the hook's test is one authenticated list call, and it reached this emulator
    assert wanxiang_emulator.stats()["lists"] == lists_before + tested

    # Airflow ships connection testing disabled: the stack's setting is what turns it on.
    disabled = {k: v for k, v in env.items() if k != "AIRFLOW__CORE__TEST_CONNECTION"}
    refused = subprocess.run(
        [AIRFLOW, "connections", "test", "wanxiang_default"],
        env=disabled,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Connection success!" not in refused.stdout + refused.stderr
    assert "disabled" in (refused.stdout + refused.stderr).lower()
    assert wanxiang_emulator.stats()["lists"] == lists_before + tested
