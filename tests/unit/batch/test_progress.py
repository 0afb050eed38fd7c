"""The progress line: at least every ``every`` seconds, with counts and an ETA at the observed rate."""

from __future__ import annotations

import logging

import pytest

from airflow_provider_wanxiang.batch.progress import Progress


def test_logs_every_interval_with_counts_and_eta(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    progress = Progress(total=10, log=logging.getLogger("t"), every=30.0, clock=lambda: now[0])
    progress.done = 2  # skipped as already done: not part of this process's rate
    progress.start()

    with caplog.at_level(logging.INFO):
        now[0] = 110.0
        progress.done, progress.in_flight, progress.images = 4, 3, 2
        assert not progress.maybe_log()  # 10 s after the start: not yet
        now[0] = 130.0
        assert progress.maybe_log()

    # 2 items ended in 30 s; 6 remain -> 90 s.
    assert caplog.messages == [
        "Wanxiang batch: 4 done, 0 failed, 3 in flight, 10 total; 2 images billed; ETA 90 s"
    ]


def test_eta_is_unknown_before_anything_ended() -> None:
    progress = Progress(total=3, log=logging.getLogger("t"), clock=lambda: 5.0)
    progress.start()
    assert progress.eta_seconds() is None
    assert progress.line().endswith("ETA unknown")
