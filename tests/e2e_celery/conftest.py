"""Fixtures of the Celery topology suite: one deployment per campaign (PostgreSQL, Redis, moto, emulator,
api-server, scheduler, dag-processor, two Celery workers, two triggerers), stopped after it.

Per campaign, not per module: a campaign SIGKILLs a triggerer and a worker, leaves the dead triggerer's job
row ``running`` in the DB and maps triggerer jobs to processes by start order; the next campaign must start
from the same two-triggerer topology, which a fresh deployment (~30 s) gives without any repair logic.

Started by the tests themselves on a fresh machine: ``make e2e-celery`` installs PostgreSQL and Redis from
Debian's packages first (``make e2e-celery-deps``). The ``e2e`` marker and the report hook come from the
LocalExecutor suite's conftest, reused here.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from tests.e2e_celery.stack import CeleryStack, running_celery_stack


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: real Airflow processes (api-server, dag-processor, scheduler, triggerer) + emulator"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember each phase's report on the item so the fixture can tell whether the test failed."""
    report = yield
    setattr(item, f"e2e_report_{report.when}", report)
    return report


@pytest.fixture
def celery_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CeleryStack]:
    with running_celery_stack(tmp_path_factory.mktemp("e2e-celery-home")) as stack:
        yield stack


@pytest.fixture
def stack(celery_stack: CeleryStack, request: pytest.FixtureRequest) -> Iterator[CeleryStack]:
    """The module's deployment with a fresh emulator; prints every log tail if the test fails."""
    celery_stack.assert_running()
    celery_stack.emulator("reset", {})
    celery_stack.emulator("config", {**celery_stack.emulator_defaults, "time_offset": 0})
    celery_stack.diagnostics_reported = False
    yield celery_stack
    report = getattr(request.node, "e2e_report_call", None)
    if report is not None and report.failed and not celery_stack.diagnostics_reported:
        print(f"\n===== e2e-celery diagnostics (Airflow home {celery_stack.home}) =====")
        print(celery_stack.diagnostics())
