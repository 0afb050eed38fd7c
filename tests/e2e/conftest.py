"""Fixtures for the end-to-end suite: one real Airflow deployment per module, a clean emulator per test.

Migrating the DB and starting Airflow's four processes costs ~15 s on a 2-core machine, so the deployment
is shared by the tests of a module; each test resets the emulator (tasks, counters, faults and its clock)
so its counts are its own, and puts back every live knob a test changed. The ``e2e`` marker is registered
here because ``pyproject.toml`` belongs to the whole project.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from tests.e2e.stack import AirflowStack, running_stack


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: real Airflow processes (api-server, dag-processor, scheduler, triggerer) + emulator"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember each phase's report on the item so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"e2e_report_{report.when}", report)
    return report


@pytest.fixture(scope="module")
def airflow_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirflowStack]:
    """api-server (core + execution apps), dag-processor, scheduler, triggerer, emulator; stopped after."""
    with running_stack(tmp_path_factory.mktemp("e2e-airflow-home")) as stack:
        yield stack


@pytest.fixture
def stack(airflow_stack: AirflowStack, request: pytest.FixtureRequest) -> Iterator[AirflowStack]:
    """The module's deployment with a fresh emulator state; prints every log tail if the test fails."""
    airflow_stack.assert_running()
    airflow_stack.emulator("reset", {})
    airflow_stack.emulator("config", {**airflow_stack.emulator_defaults, "time_offset": 0})
    airflow_stack.diagnostics_reported = False
    yield airflow_stack
    report = getattr(request.node, "e2e_report_call", None)
    if report is not None and report.failed and not airflow_stack.diagnostics_reported:
        print(f"\n===== e2e diagnostics (Airflow home {airflow_stack.home}) =====")
        print(airflow_stack.diagnostics())
