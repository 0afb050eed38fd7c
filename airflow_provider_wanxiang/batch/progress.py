"""Progress people can follow: one log line at least every ``every`` seconds while a batch runs.

Why: a batch of 10,000 edits runs for hours in one task; the log is where its owner looks. Each line says
done / failed / in flight / total, the images billed so far and an ETA at the rate seen in this process.
The clock is injectable so the arithmetic is tested without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from airflow_provider_wanxiang.polling import Log

__all__ = ["PROGRESS_EVERY", "Progress"]

#: Seconds between two progress lines at most.
PROGRESS_EVERY = 30.0


@dataclass
class Progress:
    """Counts of one batch (this process's view) and when the last line was logged."""

    total: int
    log: Log
    done: int = 0  #: items with their outputs stored (including those skipped as already done)
    failed: int = 0
    in_flight: int = 0
    images: int = 0  #: images billed in this run
    every: float = PROGRESS_EVERY
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    _started: float = field(default=-1.0, repr=False)
    _done_at_start: int = field(default=0, repr=False)
    _last: float = field(default=-1.0, repr=False)

    def start(self) -> None:
        self._started = self._last = self.clock()
        self._done_at_start = self.done + self.failed

    def eta_seconds(self) -> float | None:
        """Seconds until every item has ended, at this process's rate so far (``None`` before any end)."""
        finished = self.done + self.failed - self._done_at_start
        elapsed = self.clock() - self._started
        if finished <= 0 or elapsed <= 0:
            return None
        return (self.total - self.done - self.failed) / (finished / elapsed)

    def line(self) -> str:
        eta = self.eta_seconds()
        shown = "unknown" if eta is None else f"{eta:.0f} s"
        return (
            f"Wanxiang batch: {self.done} done, {self.failed} failed, {self.in_flight} in flight, "
            f"{self.total} total; {self.images} images billed; ETA {shown}"
        )

    def maybe_log(self, force: bool = False) -> bool:
        """Log the line when ``every`` seconds passed since the last one (or ``force``)."""
        now = self.clock()
        if not force and now - self._last < self.every:
            return False
        self._last = now
        self.log.info(self.line())
        return True
