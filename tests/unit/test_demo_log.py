"""scripts/demo_log.py: which ``airflow dags test`` lines ``make demo`` shows (the real run is in
tests/examples/test_demo.py; these are the lines a green run does not produce)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "demo_log.py"
TASK = "e2ea425a-a328-4312-899d-b72cbff95b69"


@pytest.fixture(scope="module")
def demo_log() -> ModuleType:
    spec = importlib.util.spec_from_file_location("demo_log", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["demo_log"] = module
    spec.loader.exec_module(module)
    return module


def _line(level: str, message: str, logger: str) -> str:
    return f"2026-11-29T09:57:00.051322Z [{level:<9}] {message} [{logger}] loc=polling.py:152\n"


def test_an_airflow_error_and_a_traceback_are_shown_and_its_bookkeeping_is_not(demo_log: ModuleType) -> None:
    seen = demo_log.DemoLog.new()
    error = _line("error", "Task failed with exception", "task")
    assert "ERROR: Task failed with exception" in seen.feed(error)
    assert seen.feed("Traceback (most recent call last):\n") == "  Traceback (most recent call last):"
    assert seen.feed(_line("info", "Pushing xcom", "task")) is None
    assert seen.feed("  some continuation line\n") is None


def test_provider_warnings_are_shown_with_their_level_and_debug_lines_are_not(demo_log: ModuleType) -> None:
    seen = demo_log.DemoLog.new()
    logger = "airflow_provider_wanxiang.triggers.wanxiang.WanxiangTaskTrigger"
    warning = _line("warning", f"Polling Wanxiang task {TASK} failed (timeout); retrying in 2.0 s", logger)
    assert seen.feed(warning).endswith(
        f"WARNING: Polling Wanxiang task {TASK} failed (timeout); retrying in 2.0 s"
    )
    assert seen.feed(_line("debug", f"Wanxiang task {TASK} is RUNNING", logger)) is None
    assert seen.statuses == []


def test_colour_escapes_of_airflow_3_1_are_stripped(demo_log: ModuleType) -> None:
    seen = demo_log.DemoLog.new()
    coloured = (
        "\x1b[2m2026-11-29T11:00:49.455551Z\x1b[0m [\x1b[32m\x1b[1minfo     \x1b[0m] "
        f"\x1b[1mSubmitted Wanxiang task {TASK} (request_id=a70a)\x1b[0m "
        "[\x1b[0m\x1b[1m\x1b[34mairflow.task.operators.airflow_provider_wanxiang.operators.wanxiang\x1b[0m]\x1b[0m"
        " \x1b[36mloc\x1b[0m=\x1b[35mwanxiang.py:265\x1b[0m\n"
    )
    shown = seen.feed(coloured)
    assert shown is not None and shown.endswith(f"Submitted Wanxiang task {TASK} (request_id=a70a)")
    assert "\x1b" not in shown
    assert seen.remote_task_ids == [TASK]
