"""The Airflow integration suite's baseline on the shared ``wanxiang_emulator`` (the shipped plugin).

Every test of the suite gets the session emulator with a fresh state and the ``wanxiang_default`` connection
pointing at it; edits take 0.5 s by default (the session's are instant), so the waits really defer and poll.
A test that needs other knobs calls ``wanxiang_emulator.restore(...)``; the next test starts from here again.
"""

from __future__ import annotations

import pytest

from airflow_provider_wanxiang.testing.emulator import WanxiangEmulator

#: Median remote run time of the suite's edits (short, but long enough that a wait sees PENDING/RUNNING).
TASK_SECONDS = 0.5


@pytest.fixture(autouse=True)
def _baseline(wanxiang_emulator: WanxiangEmulator) -> None:
    wanxiang_emulator.configure(task_seconds=TASK_SECONDS)
