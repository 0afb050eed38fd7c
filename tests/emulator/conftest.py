"""Fixtures for the emulator tests: the shipped ``wanxiang_emulator``, made fresh per test with given knobs.

Real HTTP on 127.0.0.1 (the server for http(s) image inputs is ``image_host``, in tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_wanxiang.testing.emulator import WanxiangEmulator
from tests.emulator.emu_helpers import Emu


@pytest.fixture
def make_emu(wanxiang_emulator: WanxiangEmulator) -> Callable[..., Emu]:
    """Put the session emulator back to its start with these live knobs (and instant tasks by default).

    Calling it again within a test starts afresh (tasks, counters, seeds), as a new emulator would.
    """

    def make(**knobs: Any) -> Emu:
        wanxiang_emulator.restore(**{"task_seconds": 0, **knobs})
        return Emu(wanxiang_emulator)

    return make


@pytest.fixture
def emu(make_emu: Callable[..., Emu]) -> Emu:
    """Instant tasks, default limits; keys ``api_key``, ``teammate_api_key``, ``other_api_key``."""
    return make_emu()
