"""What do N concurrent waits cost in one event loop (as in a triggerer)?

For each N and each waiter, a fresh process (the "child") runs N waits in ONE event loop against the
emulator in its OWN process, each wait on its own long edit (they never finish within the window):

- ``ours``: the public ``WanxiangTaskTrigger(...).run()``, whatever its implementation is;
- ``http_event``: ``HttpEventTrigger`` (apache-airflow-providers-http) on the task-query URL, with a
  ``response_check_path`` that reads the task status — it can follow this API (the key sits in the http
  connection's extra headers, not in trigger kwargs); it opens a session (a TCP connection) per poll and
  re-imports the check module in a thread per poll;
- ``http_sensor``: ``HttpSensorTrigger``, which fires on the first answer that is not 404. This API answers
  200 whatever the task's status, so it cannot wait on a Wanxiang task at all; it is pointed at a URL that
  answers 404 (as a result object not yet written would) to measure what its polling loop costs;
- ``floor``: a hand-written loop, one shared ``aiohttp.ClientSession``, GET + ``asyncio.sleep``.

All poll every ``--poll-interval`` seconds (ours may stretch that to keep within its query budget). After a
warm-up of 1.5 intervals (every wait started), for ``--window`` seconds the child measures: CPU time of its
process per poll (a poll is one wait learning its task's status: a request at the emulator for the others,
a status answer of our pool, from a list page or a GET, for ours), RSS growth per wait (from before the
waits were created to the end of the window), event-loop lag (a 10 ms sleep's overshoot; p50/p99/max),
the longest full garbage collection (generation 2; it walks every tracked object of the process, the
waits' and the imports' alike) with the count of tracked objects (before the waits and at the end), and
queries/s (requests at the
emulator) against the account's 20 QPS query limit (the emulator's limit
is OFF here so the figure is what each waiter asks for, not what it is let through). The
orchestrating process counts the TCP connections to the emulator held during the child's life (its
``/proc/net/tcp``, every 0.5 s, peak): sampling inside the child would take the GIL from the loop measured.

Usage::

    python benchmarks/waiting_cost.py [--n 100 1000 5000] [--repeats 3] [--poll-interval 5] [--window 10]
        [--gc-freeze]

``--gc-freeze`` moves every object alive once the waits have started out of the collector's reach
(``gc.freeze()``, what Airflow's executors and DAG processor do before they fork; the triggerer does not)
before the window: what the loop's worst lag is without full collections walking them.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    EMULATOR_KEY,
    Emulator,
    command_line,
    exit_on_sigterm,
    median,
    raise_fd_limit,
    rss_bytes,
    write_figures,
)

from airflow_provider_wanxiang.testing.connection import connection_json

MODES = ("ours", "http_event", "http_sensor", "floor")
ACCOUNT_QPS = 20.0
TERMINAL = {"SUCCEEDED", "FAILED", "CANCELED", "UNKNOWN"}


# -- the measured process ---------------------------------------------------------------------------------
def _waiters(
    mode: str, ids: list[str], base_url: str, interval: float, key: str = EMULATOR_KEY
) -> tuple[list[Any], Any]:
    """Coroutines, one per wait, and the shared resource to close afterwards (the floor's session)."""
    if mode == "ours":
        from airflow_provider_wanxiang.triggers.wanxiang import WanxiangTaskTrigger

        end = time.time() + 3600
        triggers = [
            WanxiangTaskTrigger(wanxiang_task_id=i, end_time=end, poll_interval=interval) for i in ids
        ]
        return [_consume(t) for t in triggers], None
    if mode == "http_event":
        from airflow.providers.http.triggers.http import HttpEventTrigger

        return [
            _consume(
                HttpEventTrigger(
                    response_check_path="_http_checks.task_finished",
                    http_conn_id="bench_http",
                    endpoint=f"api/v1/tasks/{i}",
                    poll_interval=interval,
                )
            )
            for i in ids
        ], None
    if mode == "http_sensor":
        from airflow.providers.http.triggers.http import HttpSensorTrigger

        return [
            _consume(
                HttpSensorTrigger(
                    endpoint=f"pending/{i}.png", http_conn_id="bench_http", poke_interval=interval
                )
            )
            for i in ids
        ], None
    import aiohttp

    session = aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"})

    async def floor(task_id: str) -> None:
        await asyncio.sleep(random.uniform(0, interval))  # spread, as a careful hand-written loop would
        while True:
            async with session.get(f"{base_url}/tasks/{task_id}") as response:
                body = await response.json()
            if body.get("output", {}).get("task_status") in TERMINAL:
                return
            await asyncio.sleep(interval)

    return [floor(i) for i in ids], session


async def _consume(trigger: Any) -> None:
    async for _ in trigger.run():
        return


def _checks(mode: str) -> int | None:
    """Status answers our pool gave its waits so far (``None`` for the other waiters)."""
    if mode != "ours":
        return None
    from airflow_provider_wanxiang.client.shared import open_pools

    return sum(pool.checks for pool in open_pools().values())


async def _round_end(mode: str) -> None:
    """Return as our pool's next list round ends (at once for the other waiters, or without rounds)."""
    if mode != "ours":
        return
    from airflow_provider_wanxiang.client.shared import open_pools

    pools = list(open_pools().values())
    if not pools or not pools[0].batching():
        return
    lister = pools[0].lister
    rounds = lister.rounds
    while lister.rounds == rounds:
        await asyncio.sleep(0.02)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _measure(args: argparse.Namespace) -> dict[str, Any]:
    ids = json.loads(Path(args.ids).read_text())[: args.n]
    stats_url = f"{args.url}/_emulator/stats"

    def stats() -> dict[str, Any]:
        import urllib.request

        with urllib.request.urlopen(stats_url, timeout=60) as response:
            answer: dict[str, Any] = json.load(response)
            return answer

    # Imports (Airflow, the providers, aiohttp) are paid once per process, not per wait: before the baseline.
    _, unused = _waiters(args.mode, [], f"{args.url}/api/v1", args.poll_interval)
    if unused is not None:
        await unused.close()

    gc.collect()
    tracked_before = len(gc.get_objects())
    rss_before = rss_bytes()
    coroutines, shared = _waiters(args.mode, ids, f"{args.url}/api/v1", args.poll_interval, args.key)
    tasks = [asyncio.create_task(c) for c in coroutines]
    # Warm-up: every wait has started and made its first query. 1.5 intervals, and a window of whole
    # intervals, so waiters that poll in lock-step (no jitter: the http triggers) fall in the window as
    # many times as the interval says, not one burst more or less.
    await asyncio.sleep(1.5 * args.poll_interval)

    lags: list[float] = []
    stop = asyncio.Event()
    full_collections: list[float] = []
    collection_started = 0.0

    def on_collection(phase: str, info: dict[str, Any]) -> None:
        nonlocal collection_started
        if phase == "start":
            collection_started = time.perf_counter()
        elif info["generation"] == 2:
            full_collections.append(time.perf_counter() - collection_started)

    async def monitor() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - started - 0.01)

    # Ours answers its waits in rounds of list pages (seconds apart with thousands of tasks): the window
    # starts as a round ends and closes when the first round after --window ends, so it holds whole rounds.
    await _round_end(args.mode)
    if args.gc_freeze:
        gc.freeze()
    gc.callbacks.append(on_collection)
    before = await asyncio.to_thread(stats)
    checks_before = _checks(args.mode)
    cpu_before, wall_before = _cpu(), time.perf_counter()
    lag_task = asyncio.create_task(monitor())
    await asyncio.sleep(args.window)
    await _round_end(args.mode)
    stop.set()
    await lag_task
    gc.callbacks.remove(on_collection)
    cpu, wall = _cpu() - cpu_before, time.perf_counter() - wall_before
    checks_after = _checks(args.mode)
    after = await asyncio.to_thread(stats)
    rss_after = rss_bytes()
    finished = sum(1 for t in tasks if t.done())
    del shared  # not closed: the process ends right after the figures are out (see child())

    def count(snapshot: dict[str, Any]) -> int:
        # API and OSS requests, plus requests to other paths (the sensor's 404s); minus our stats call.
        return int(snapshot["requests"]) + int(snapshot.get("other_requests", 0))

    queries = count(after) - count(before) - 1
    # A poll is one wait learning its task's status. The other waiters send a request per poll; ours may
    # answer many waits with one list page, so its polls are counted in its pool (each status answer).
    polls = queries if checks_before is None or checks_after is None else checks_after - checks_before
    lags.sort()
    return {
        "mode": args.mode,
        "n": args.n,
        "window_s": wall,
        "polls": polls,
        "polls_per_s": polls / wall,
        "queries": queries,
        "queries_per_s": queries / wall,
        "cpu_s": cpu,
        "cpu_ms_per_poll": 1000 * cpu / max(1, polls),
        "rss_kib_per_wait": (rss_after - rss_before) / 1024 / args.n,
        "lag_p50_ms": 1000 * lags[len(lags) // 2],
        "lag_p99_ms": 1000 * lags[min(len(lags) - 1, int(len(lags) * 0.99))],
        "lag_max_ms": 1000 * lags[-1],
        "finished_early": finished,
        "gc_full_collections": len(full_collections),
        "gc_full_max_ms": 1000 * max(full_collections, default=0.0),
        "gc_tracked_objects": len(gc.get_objects()),
        "gc_tracked_before_waits": tracked_before,
    }


def child(args: argparse.Namespace) -> None:
    raise_fd_limit()
    import logging

    # A triggerer logs at INFO; per-poll INFO lines are part of what a waiter costs, so they stay on, but
    # go to a file rather than the terminal.
    logging.basicConfig(level=logging.INFO, filename=os.devnull)
    loop = asyncio.new_event_loop()
    figures = loop.run_until_complete(_measure(args))
    print(json.dumps(figures), flush=True)
    # No orderly teardown of the N waits: it is not measured, and cancelling thousands of waits that each
    # close their own session can take minutes. The emulator's sockets close with the process.
    os._exit(0)


# -- the orchestrating process -----------------------------------------------------------------------------
def established_to(port: int) -> int:
    """Client-side TCP connections to ``port`` in state ESTABLISHED, machine-wide (only the child and,
    twice per run, its stats calls connect to the emulator while it runs)."""
    held = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as lines:
                next(lines)
                for line in lines:
                    fields = line.split()
                    if fields[3] == "01" and int(fields[2].rsplit(":", 1)[1], 16) == port:
                        held += 1
        except FileNotFoundError:
            continue
    return held


def create_tasks(emulator: Emulator, count: int, key: str) -> list[str]:
    from PIL import Image

    from airflow_provider_wanxiang.client import ClientConfig, WanxiangClient, build_edit_request

    buffer = io.BytesIO()
    Image.new("RGB", (400, 400), (10, 20, 30)).save(buffer, format="PNG")
    image = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    with WanxiangClient(ClientConfig(api_key=key, base_url=emulator.base_url)) as client:
        request = build_edit_request(prompt="bench", images=[image])
        return [client.create_task(request).task_id for _ in range(count)]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, nargs="+", default=[100, 1000, 5000], help="concurrent waits")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--poll-interval", type=float, default=5.0)
    parser.add_argument("--window", type=float, default=10.0, help="measured seconds, after the warm-up")
    parser.add_argument("--json", help="write the figures here (for benchmarks/run.py)")
    parser.add_argument(
        "--gc-freeze", action="store_true", help="gc.freeze() once the waits have started (see above)"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--ids", help=argparse.SUPPRESS)
    parser.add_argument("--key", default=EMULATOR_KEY, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.n = args.n[0]
        child(args)
        return 0

    exit_on_sigterm()
    command = command_line()
    print(f"command: {command}", flush=True)
    home = tempfile.mkdtemp(prefix="wanxiang-bench-home-")
    runs: list[dict[str, Any]] = []
    # Long edits (they outlast every window); no submit or concurrency limit (setup only); the 20 QPS
    # query limit OFF so each waiter's demand is measured rather than what the emulator lets through.
    # One account (key) per N, holding exactly the N tasks waited on: a list page shows an account's tasks,
    # so the waits of one N must not pay for pages of another N's tasks.
    keys = {n: f"{EMULATOR_KEY}-{n}" for n in args.n}
    with Emulator(
        "--task-seconds", "3600", "--task-seconds-spread", "0", "--max-concurrent", "1000000",
        "--submit-rps", "0", "--query-qps", "0", *(f"--api-key={key}" for key in keys.values()),
    ) as emulator:  # fmt: skip
        ids_files = {n: Path(home) / f"ids-{n}.json" for n in args.n}
        for n, key in keys.items():
            ids_files[n].write_text(json.dumps(create_tasks(emulator, n, key)))

        def environment(key: str) -> dict[str, str]:
            return {
                **os.environ,
                "AIRFLOW_HOME": home,
                # Our triggers run as shipped: the connection's default query budget (10 q/s) shared by
                # all waits, which they meet by answering many waits per list page (their polls are
                # counted as status answers, see _measure).
                "AIRFLOW_CONN_WANXIANG_DEFAULT": connection_json(host=emulator.url, api_key=key),
                # HttpAsyncHook sends the connection's extra as headers: the key stays out of trigger
                # kwargs.
                "AIRFLOW_CONN_BENCH_HTTP": json.dumps(
                    {"conn_type": "http", "host": emulator.url, "extra": {"Authorization": f"Bearer {key}"}}
                ),
            }

        header = (
            f"{'waiter':<12}{'N':>6}{'ms CPU/poll':>13}{'KiB/wait':>10}{'sockets':>9}"
            f"{'lag p50':>9}{'p99':>8}{'max ms':>8}{'polls/s':>9}{'q/s':>9}{'full GC ms':>11}{'tracked':>9}"
        )
        print(header)
        print("-" * len(header), flush=True)
        for n in args.n:
            for repeat in range(args.repeats):
                for mode in args.modes:  # interleaved, so a noisy neighbour hurts every waiter alike
                    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
                        child_process = subprocess.Popen(
                            [
                                sys.executable, __file__, "--child", "--mode", mode, "--n", str(n),
                                "--url", emulator.url, "--ids", str(ids_files[n]), "--key", keys[n],
                                "--poll-interval", str(args.poll_interval), "--window", str(args.window),
                                *(["--gc-freeze"] if args.gc_freeze else []),
                            ],
                            stdout=out, stderr=err, text=True, env=environment(keys[n]),
                        )  # fmt: skip
                        held = 0
                        while child_process.poll() is None:
                            held = max(held, established_to(emulator.port))
                            time.sleep(0.5)
                        out.seek(0)
                        err.seek(0)
                        if child_process.returncode != 0:
                            print(err.read()[-3000:], file=sys.stderr)
                            raise RuntimeError(f"{mode} with N={n} failed")
                        figures = json.loads(out.read().strip().splitlines()[-1])
                    figures["repeat"] = repeat
                    figures["sockets_held"] = held
                    runs.append(figures)
                    print(
                        f"{mode:<12}{n:>6}{figures['cpu_ms_per_poll']:>13.3f}{figures['rss_kib_per_wait']:>10.1f}"
                        f"{figures['sockets_held']:>9}{figures['lag_p50_ms']:>9.1f}{figures['lag_p99_ms']:>8.1f}"
                        f"{figures['lag_max_ms']:>8.1f}{figures['polls_per_s']:>9.1f}"
                        f"{figures['queries_per_s']:>9.1f}{figures['gc_full_max_ms']:>11.1f}"
                        f"{figures['gc_tracked_objects']:>9}",
                        flush=True,
                    )
    write_figures(
        args.json,
        {
            "name": "waiting_cost",
            "command": command,
            "poll_interval_s": args.poll_interval,
            "window_s": args.window,
            "gc_freeze": args.gc_freeze,
            "account_qps": ACCOUNT_QPS,
            "runs": runs,
            "medians": summarize(runs),
        },
    )
    return 0


METRICS = (
    "cpu_ms_per_poll",
    "polls_per_s",
    "rss_kib_per_wait",
    "sockets_held",
    "lag_p50_ms",
    "lag_p99_ms",
    "lag_max_ms",
    "queries_per_s",
    "gc_full_max_ms",
    "gc_tracked_objects",
    "gc_tracked_before_waits",
)


def summarize(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Median of the repeats per (waiter, N), and each median's ratio to the floor's of the same run."""
    keys = sorted({(r["n"], r["mode"]) for r in runs}, key=lambda k: (k[0], MODES.index(k[1])))
    rows = []
    for n, mode in keys:
        mine = [r for r in runs if r["n"] == n and r["mode"] == mode]
        row: dict[str, Any] = {"n": n, "mode": mode, "repeats": len(mine)}
        row.update({m: median([r[m] for r in mine]) for m in METRICS})
        rows.append(row)
    for row in rows:
        floor = next((r for r in rows if r["n"] == row["n"] and r["mode"] == "floor"), None)
        if floor:
            for m in ("cpu_ms_per_poll", "rss_kib_per_wait"):
                row[f"{m}_vs_floor"] = row[m] / floor[m] if floor[m] else float("nan")
    return rows


if __name__ == "__main__":
    sys.exit(main())
