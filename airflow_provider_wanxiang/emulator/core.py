"""The emulator's state in one object: knobs, tasks, uploads, faults, stats and caches.

Everything here is touched only from the server's event loop thread (``EmulatorServer`` marshals its
calls onto that loop), so no locks are needed. CPU-heavy work (decoding inputs, rendering PNGs) runs in
the loop's default executor on immutable bytes.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import os
import time
from typing import Any

import aiohttp

from airflow_provider_wanxiang.emulator import imaging
from airflow_provider_wanxiang.emulator.config import EmulatorConfig
from airflow_provider_wanxiang.emulator.faults import FaultPlan
from airflow_provider_wanxiang.emulator.state import RateWindow, Task, TaskStore
from airflow_provider_wanxiang.emulator.stats import Stats
from airflow_provider_wanxiang.emulator.uploads import UploadStore

#: Rendered PNGs kept in memory (they are deterministic, so an evicted one is simply rendered again).
RENDER_CACHE_SIZE = 64


#: What an output picture is a pure function of: input ids, output size, seed, prompt, watermark.
RenderKey = tuple[tuple[str, ...], tuple[int, ...], int, str, bool]


class EmulatorCore:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.secret = os.urandom(32)  # signs result URLs and upload policies; new per process
        self.tasks = TaskStore()
        self.uploads = UploadStore()
        self.faults = FaultPlan(config.seed)
        self.limits = RateWindow()
        self.stats = Stats()
        self.inputs: dict[str, bytes] = {}  # prepared input images by content hash
        self.renders: collections.OrderedDict[RenderKey, bytes] = collections.OrderedDict()
        self._rendering: dict[RenderKey, asyncio.Future[bytes]] = {}
        self.bound_url: str | None = None
        self.session: aiohttp.ClientSession | None = None
        self.started = time.time()

    # --- clock and addresses ---------------------------------------------------------------------
    def now(self) -> float:
        """The emulator clock: wall time plus the ``time_offset`` knob (for jumping past TTLs)."""
        return time.time() + self.config.time_offset

    def base_url(self, request_host: str | None) -> str:
        """Where result and upload URLs point: ``public_url``, else the bound address, else the Host."""
        if self.config.public_url:
            return self.config.public_url.rstrip("/")
        if self.bound_url and not self.config.host.startswith(("0.0.0.0", "::")):
            return self.bound_url
        return f"http://{request_host}" if request_host else (self.bound_url or "")

    # --- inputs and outputs ----------------------------------------------------------------------
    async def prepare_input(self, data: bytes) -> str:
        """Decode and store an input once per distinct content; returns its id (content hash)."""
        digest = hashlib.sha256(data).hexdigest()
        if digest not in self.inputs:
            loop = asyncio.get_running_loop()
            self.inputs[digest] = await loop.run_in_executor(None, imaging.prepare_input, data)
        return digest

    async def render(self, task: Task, index: int) -> bytes:
        """The PNG for result ``index`` of ``task``: rendered on first download, then cached.

        The cache is keyed by what the picture is a pure function of (inputs, size, seed, prompt,
        watermark), not by the task: a catalogue of identical edits with a fixed seed (a scale test or
        benchmark of thousands of tasks) renders once instead of once per task.
        """
        key: RenderKey = (
            tuple(task.input_ids),
            tuple(task.output_size),
            task.seed + index,
            task.spec.prompt,
            task.spec.watermark,
        )
        cached = self.renders.get(key)
        if cached is not None:
            self.renders.move_to_end(key)
            return cached
        inflight = self._rendering.get(key)
        if inflight is not None:
            return await inflight
        loop = asyncio.get_running_loop()
        inputs = [self.inputs[i] for i in task.input_ids]
        future = loop.run_in_executor(
            None,
            imaging.render_output,
            inputs,
            task.output_size,
            task.seed + index,
            task.spec.prompt,
            task.spec.watermark,
        )
        self._rendering[key] = future
        try:
            png = await future
        finally:
            self._rendering.pop(key, None)
        self.renders[key] = png
        while len(self.renders) > RENDER_CACHE_SIZE:
            self.renders.popitem(last=False)
        return png

    # --- control ---------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget tasks, uploads, queued faults, limits, caches and counters; keep the knobs."""
        self.tasks.clear()
        self.uploads.clear()
        self.faults.reset(self.config.seed)
        self.limits.clear()
        self.stats = Stats()
        self.inputs.clear()
        self.renders.clear()

    def configure(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply live knob changes atomically (all or nothing); returns the resulting knobs."""
        self.config = self.config.updated(changes)
        return self.config.live_view()

    def stats_snapshot(self) -> dict[str, Any]:
        snapshot = self.stats.snapshot(list(self.tasks.tasks.values()), self.now())
        snapshot["faults_pending"] = self.faults.pending()
        snapshot["uptime_seconds"] = round(time.time() - self.started, 3)
        return snapshot
