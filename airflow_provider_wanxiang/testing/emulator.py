"""The object the ``wanxiang_emulator`` fixture hands to a test: the emulator plus test conveniences.

It *is* an :class:`~airflow_provider_wanxiang.emulator.EmulatorServer` (everything documented there works),
started once per session with three keys, so tests of key isolation and shared accounts need no emulator of
their own, and with :meth:`restore` to put state and knobs back to the session's start.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_wanxiang.emulator import EmulatorConfig, EmulatorServer
from airflow_provider_wanxiang.emulator.config import LIVE_KNOBS
from airflow_provider_wanxiang.testing.connection import connection_json

API_KEY = "sk-emulator"
#: A second key of the same account as :data:`API_KEY`: sees its tasks, shares its rate limits.
TEAMMATE_API_KEY = "sk-emulator-teammate"
#: A key of another account: none of :data:`API_KEY`'s tasks are visible to it, its limits are its own.
OTHER_API_KEY = "sk-emulator-other"
_ACCOUNT = "emulator-account"

#: Knobs for tests that count requests rather than wait: edits finish at once with no run-time spread, and
#: no rate or concurrency limit answers 429. ``wanxiang_emulator.configure(**UNLIMITED_INSTANT)``.
UNLIMITED_INSTANT: dict[str, Any] = {
    "task_seconds": 0.0,
    "task_seconds_spread": 0.0,
    "submit_rps": 0.0,
    "query_qps": 0.0,
    "max_concurrent": 1000,
}


class WanxiangEmulator(EmulatorServer):
    """A session emulator that can be put back to its starting point between (or within) tests."""

    def __init__(self, task_seconds: float) -> None:
        super().__init__(
            EmulatorConfig(
                port=0,
                api_keys=[API_KEY, TEAMMATE_API_KEY, OTHER_API_KEY],
                key_accounts={API_KEY: _ACCOUNT, TEAMMATE_API_KEY: _ACCOUNT},
                task_seconds=task_seconds,
            )
        )
        self._initial_knobs: dict[str, Any] = {}

    def start(self) -> WanxiangEmulator:
        super().start()
        self._initial_knobs = {name: value for name, value in self.configure().items() if name in LIVE_KNOBS}
        return self

    @property
    def teammate_api_key(self) -> str:
        """Another key of :attr:`api_key`'s account (shared tasks and limits)."""
        return TEAMMATE_API_KEY

    @property
    def other_api_key(self) -> str:
        """A key of a different account (its own tasks and limits)."""
        return OTHER_API_KEY

    @property
    def initial_knobs(self) -> dict[str, Any]:
        """The live knobs the session started with (what :meth:`restore` goes back to)."""
        return dict(self._initial_knobs)

    def restore(self, **knobs: Any) -> None:
        """Forget tasks, uploads, faults and statistics, put every knob back, then apply ``knobs``.

        The fixture calls it before each test; call it inside a test for a second fresh start, e.g. to
        check that the same ``seed`` gives the same run twice (task numbering and fault draws restart).
        """
        self.configure(**{**self._initial_knobs, **knobs})
        self.reset()  # after configure: reset re-seeds the fault plan from the (possibly new) seed

    def connection_json(self, **extra: Any) -> str:
        """The ``AIRFLOW_CONN_*`` JSON pointing at this emulator with its key, plus extra fields."""
        return connection_json(host=self.url, api_key=self.api_key, **extra)
