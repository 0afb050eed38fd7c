"""How much load do many deferred waits put on the task-query API (limit: 20 QPS per account)?

Runs K ``WanxiangTaskTrigger`` instances in ONE event loop (as a triggerer does) against the emulator, each
waiting on its own long edit, for a fixed window, with the real 20 QPS query limit emulated. Reports the
status queries per second, how many were throttled (all triggers start at once, as after a triggerer
restart; throttled queries are retried with backoff), and the CPU time per query. Usage::

    python benchmarks/trigger_poll_load.py [--triggers 200] [--poll-interval 15] [--window 45]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import resource
import sys
import tempfile
import time

from PIL import Image

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="wanxiang-bench-home-"))


async def _drive(triggers: list[object], window: float) -> None:
    async def consume(trigger: object) -> None:
        async for _ in trigger.run():  # type: ignore[attr-defined]
            return

    tasks = [asyncio.create_task(consume(t)) for t in triggers]
    await asyncio.sleep(window)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triggers", type=int, default=200)
    parser.add_argument("--poll-interval", type=float, default=15.0)
    parser.add_argument("--window", type=float, default=45.0)
    args = parser.parse_args()

    from airflow_provider_wanxiang.client import ClientConfig, WanxiangClient, build_edit_request
    from airflow_provider_wanxiang.emulator import EmulatorConfig, EmulatorServer
    from airflow_provider_wanxiang.triggers.wanxiang import WanxiangTaskTrigger

    key = "sk-bench"
    config = EmulatorConfig(
        port=0, api_keys=[key], task_seconds=3600, max_concurrent=100_000, submit_rps=0, query_qps=20
    )
    with EmulatorServer(config) as emulator:
        os.environ["AIRFLOW_CONN_WANXIANG_DEFAULT"] = json.dumps(
            {"conn_type": "wanxiang", "password": key, "host": emulator.url}
        )
        buffer = io.BytesIO()
        Image.new("RGB", (400, 400), (10, 20, 30)).save(buffer, format="PNG")
        image = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
        with WanxiangClient(ClientConfig(api_key=key, base_url=emulator.base_url)) as client:
            request = build_edit_request(prompt="bench", images=[image])
            ids = [client.create_task(request).task_id for _ in range(args.triggers)]
        end_time = time.time() + 3600
        triggers = [
            WanxiangTaskTrigger(wanxiang_task_id=i, end_time=end_time, poll_interval=args.poll_interval)
            for i in ids
        ]
        before_queries = emulator.stats()["task_queries"]
        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        asyncio.run(_drive(triggers, args.window))
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        stats = emulator.stats()
        queries = stats["task_queries"] - before_queries
        throttled = sum(count for code, count in stats["rejected"].items() if code.startswith("Throttling"))
    qps = queries / args.window
    # The emulator shares this process; its CPU is included, so this is an upper bound for the triggerer.
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    print(f"command: {' '.join([os.path.basename(sys.executable), *sys.argv])}")
    print(f"triggers={args.triggers} poll_interval={args.poll_interval}s window={args.window}s")
    expected = args.triggers / args.poll_interval
    print(f"status queries: {queries} -> {qps:.2f} QPS (account limit 20; expected ~{expected:.2f})")
    print(f"queries throttled by the emulated 20 QPS limit (429, then retried): {throttled}")
    per_query = 1000 * cpu / max(1, queries)
    print(f"process CPU (triggers + in-process emulator): {cpu:.2f} s, {per_query:.2f} ms/query")
    return 0


if __name__ == "__main__":
    sys.exit(main())
